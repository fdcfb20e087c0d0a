#!/usr/bin/perl
# Autobahn-protocol client driver on Mojo::UserAgent (permessage-deflate offered
# the way Mojolicious documents it, by the request header; max_websocket_size 64 MiB). One connection at a time,
# each bounded by a 60 s timer.
use strict;
use warnings;
BEGIN { $ENV{MOJO_MAX_WEBSOCKET_SIZE} = 64 * 1024 * 1024 }
use Mojo::UserAgent;
use Mojo::Util qw(url_escape);

my ($base, $agent) = @ARGV;
unless (@ARGV == 2 && $base =~ m{^wss?://}) {
  print STDERR "usage: mojo-client.pl BASE_URL AGENT\n";
  exit 2;
}
$base =~ s{/+$}{};
$SIG{TERM} = $SIG{INT} = sub { exit 0 };
$| = 1;

sub session {
  my ($url, $echo) = @_;
  my @got;
  my $ua = Mojo::UserAgent->new(inactivity_timeout => 60, connect_timeout => 60);
  $ua->websocket($url => {'Sec-WebSocket-Extensions' => 'permessage-deflate'} => sub {
    my ($ua, $tx) = @_;
    unless ($tx->is_websocket) { Mojo::IOLoop->stop; return }
    $tx->on(finish => sub { Mojo::IOLoop->stop });
    $tx->on(text => sub { $echo ? $_[0]->send({text => $_[1]}) : push @got, $_[1] });
    $tx->on(binary => sub { $_[0]->send({binary => $_[1]}) if $echo });
  });
  my $timer = Mojo::IOLoop->timer(60 => sub { print "$url: timed out\n"; Mojo::IOLoop->stop });
  Mojo::IOLoop->start;
  Mojo::IOLoop->remove($timer);
  return @got;
}

my ($count) = session("$base/getCaseCount", 0);
unless (defined $count && $count =~ /^\s*(\d+)\s*$/ && $1 <= 10000) {
  print STDERR "mojo-client: bad case count\n";
  exit 1;
}
my $n = $1;
my $a = url_escape $agent;
session("$base/runCase?case=$_&agent=$a", 1) for 1 .. $n;
session("$base/updateReports?agent=$a", 0);

#!/usr/bin/perl
# Echo server on Mojolicious (Mojo::Server::Daemon): text as text, binary as
# binary (the `text`/`binary` events carry the message's bytes as received).
# permessage-deflate on when offered (with_compression; Mojolicious's default
# is off), max_websocket_size raised from 256 KiB to 64 MiB
# (MOJO_MAX_WEBSOCKET_SIZE), inactivity timeout 300 s.
use strict;
use warnings;
BEGIN { $ENV{MOJO_MAX_WEBSOCKET_SIZE} = 64 * 1024 * 1024 }
use Mojolicious::Lite;
use Mojo::Server::Daemon;

my $port = $ARGV[0] // '';
unless (@ARGV == 1 && $port =~ /^\d+$/ && $port <= 65535) {
  print STDERR "usage: mojo-server.pl PORT\n";
  exit 2;
}
$SIG{TERM} = $SIG{INT} = sub { exit 0 };

websocket '/*any' => {any => ''} => sub {
  my $c = shift;
  $c->inactivity_timeout(300);
  $c->tx->with_compression;
  $c->on(text   => sub { $_[0]->send({text   => $_[1]}) });
  $c->on(binary => sub { $_[0]->send({binary => $_[1]}) });
};
app->log->level('fatal');

my $daemon = Mojo::Server::Daemon->new(app => app, listen => ["http://127.0.0.1:$port"], silent => 1);
$daemon->start;
$| = 1;
print "listening 127.0.0.1:" . $daemon->ports->[0] . "\n";
Mojo::IOLoop->start;

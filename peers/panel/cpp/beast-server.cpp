// Echo server on Boost.Beast (synchronous websocket::stream, one thread per
// connection): text as text, binary as binary. permessage-deflate on
// (permessage_deflate::server_enable; Beast's default is off), read_message_max
// 64 MiB (the default is 16 MiB, exactly Autobahn 9.x's largest message).
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

static void session(tcp::socket socket) {
  try {
    websocket::stream<tcp::socket> ws{std::move(socket)};
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    ws.set_option(pmd);
    ws.read_message_max(64 * 1024 * 1024);
    ws.accept();
    for (;;) {
      beast::flat_buffer buffer;
      ws.read(buffer);
      ws.text(ws.got_text());
      ws.write(buffer.data());
    }
  } catch (const std::exception &) {
    // closed by the peer, or failed by Beast: the connection is over
  }
}

int main(int argc, char **argv) {
  char *end = nullptr;
  long port = argc == 2 ? std::strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *end || port < 0 || port > 65535) {
    std::cerr << "usage: beast-server PORT\n";
    return 2;
  }
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}};
  std::cout << "listening 127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
  for (;;) {
    tcp::socket socket{ioc};
    acceptor.accept(socket);
    std::thread(session, std::move(socket)).detach();
  }
}

// Autobahn-protocol client driver on Boost.Beast (synchronous; permessage-deflate
// offered via permessage_deflate::client_enable; read_message_max 64 MiB). Each
// connection is bounded by a 60 s socket timeout (SO_RCVTIMEO/SO_SNDTIMEO).
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <string>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Base {
  std::string host, port, path;
};

// One connection: echo every message with its type, or return the first text one.
static std::string session(const Base &base, const std::string &target, bool echo) {
  std::string first;
  try {
    net::io_context ioc;
    tcp::resolver resolver{ioc};
    websocket::stream<tcp::socket> ws{ioc};
    net::connect(ws.next_layer(), resolver.resolve(base.host, base.port));
    timeval tv{60, 0};
    int fd = ws.next_layer().native_handle();
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws.set_option(pmd);
    ws.read_message_max(64 * 1024 * 1024);
    ws.handshake(base.host + ":" + base.port, base.path + target);
    for (;;) {
      beast::flat_buffer buffer;
      ws.read(buffer);
      if (echo) {
        ws.text(ws.got_text());
        ws.write(buffer.data());
      } else if (ws.got_text() && first.empty()) {
        first = beast::buffers_to_string(buffer.data());
      }
    }
  } catch (const std::exception &e) {
    // closed or failed: the case is over
  }
  return first;
}

static std::string escape(const std::string &s) {
  std::string out;
  char hex[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

int main(int argc, char **argv) {
  std::string url = argc == 3 ? argv[1] : "";
  if (url.rfind("ws://", 0) != 0) {
    std::cerr << "usage: beast-client BASE_URL AGENT\n";
    return 2;
  }
  std::string rest = url.substr(5);
  Base base;
  auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  base.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!base.path.empty() && base.path.back() == '/') base.path.pop_back();
  auto colon = authority.rfind(':');
  base.host = authority.substr(0, colon);
  base.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  std::string agent = escape(argv[2]);
  std::string count = session(base, "/getCaseCount", false);
  char *end = nullptr;
  long n = std::strtol(count.c_str(), &end, 10);
  if (count.empty() || n < 0 || n > 10000) {
    std::cerr << "beast-client: bad case count\n";
    return 1;
  }
  for (long i = 1; i <= n; i++) {
    session(base, "/runCase?case=" + std::to_string(i) + "&agent=" + agent, true);
  }
  session(base, "/updateReports?agent=" + agent, false);
}

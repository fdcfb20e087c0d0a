// Echo server on gorilla/websocket: text as text, binary as binary.
// permessage-deflate on (Upgrader.EnableCompression; gorilla negotiates it
// without context takeover only), read limit 64 MiB (the default is none).
// Built in GOPATH mode against Debian's golang-github-gorilla-websocket-dev.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/gorilla/websocket"
)

const maxMessage = 64 << 20

var upgrader = websocket.Upgrader{
	EnableCompression: true,
	CheckOrigin:       func(*http.Request) bool { return true },
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetReadLimit(maxMessage)
	for {
		mt, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, msg); err != nil {
			return
		}
	}
}

func main() {
	port, err := strconv.Atoi(os.Args[len(os.Args)-1])
	if len(os.Args) != 2 || err != nil || port < 0 || port > 65535 {
		fmt.Fprintln(os.Stderr, "usage: gorilla-server PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening 127.0.0.1:%d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, http.HandlerFunc(echo))
}

// Autobahn-protocol client driver on gorilla/websocket (permessage-deflate
// offered: Dialer.EnableCompression; read limit 64 MiB).
package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

const (
	maxMessage  = 64 << 20
	// Above the longest case timer (480 s, 12.x/13.x with large messages): the
	// harness ends every case; this only guards against a hang.
	caseTimeout = 600 * time.Second
	maxCases    = 10000
)

// session connects, echoes every message with its type (echo) or collects the
// text messages, until the connection closes or the case deadline passes.
func session(u string, echo bool) []string {
	dialer := websocket.Dialer{EnableCompression: true, HandshakeTimeout: caseTimeout}
	c, _, err := dialer.Dial(u, nil)
	if err != nil {
		fmt.Printf("%s: %v\n", u, err)
		return nil
	}
	defer c.Close()
	c.SetReadLimit(maxMessage)
	deadline := time.Now().Add(caseTimeout)
	c.SetReadDeadline(deadline)
	c.SetWriteDeadline(deadline)
	var got []string
	for {
		mt, msg, err := c.ReadMessage()
		if err != nil {
			return got
		}
		if !echo {
			got = append(got, string(msg))
		} else if err := c.WriteMessage(mt, msg); err != nil {
			return got
		}
	}
}

func main() {
	if len(os.Args) != 3 || !strings.HasPrefix(os.Args[1], "ws://") {
		fmt.Fprintln(os.Stderr, "usage: gorilla-client BASE_URL AGENT")
		os.Exit(2)
	}
	base := strings.TrimRight(os.Args[1], "/")
	agent := url.QueryEscape(os.Args[2])
	got := session(base+"/getCaseCount", false)
	n := -1
	if len(got) > 0 {
		n, _ = strconv.Atoi(strings.TrimSpace(got[0]))
	}
	if n < 0 || n > maxCases {
		fmt.Fprintf(os.Stderr, "gorilla-client: bad case count %q\n", got)
		os.Exit(1)
	}
	for i := 1; i <= n; i++ {
		session(fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), true)
	}
	session(fmt.Sprintf("%s/updateReports?agent=%s", base, agent), false)
}

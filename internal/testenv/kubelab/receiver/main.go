// Command receiver is the webhook receiver that the in-cluster end-to-end
// test runs as a pod: it answers every request with 200 and prints each
// POST as one line on stdout, "POST <path> <body on one line>", which the
// test reads with kubectl logs; other requests get "pong".
//
// With -dial it is the client instead: it connects to the address over
// TCP every -every, forever, and prints "try N OK" or "try N FAIL <error>"
// for each, so that a test can see a denied connect (EPERM: "operation
// not permitted") never succeed. (The lab's busybox wget and nc resolve
// even an address through static glibc's NSS, which crashes.)
//
// Built static by the test and put in an image of its own; it has no
// other use.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	dial := flag.String("dial", "", "connect to this host:port in a loop instead of serving")
	every := flag.Duration("every", 300*time.Millisecond, "with -dial, the pause between connects")
	flag.Parse()
	if *dial != "" {
		dialLoop(*dial, *every)
	}
	var mu sync.Mutex // one line at a time on stdout
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			_, _ = io.WriteString(w, "pong\n")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// a vigil batch is a JSON array on several lines: one line here
		body = bytes.ReplaceAll(bytes.TrimSpace(body), []byte("\n"), []byte(" "))
		mu.Lock()
		fmt.Fprintf(os.Stdout, "POST %s %s\n", r.URL.Path, body)
		mu.Unlock()
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func dialLoop(addr string, every time.Duration) {
	for i := 1; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			fmt.Printf("try %d FAIL %v\n", i, err)
		} else {
			_ = c.Close()
			fmt.Printf("try %d OK\n", i)
		}
		time.Sleep(every)
	}
}

// SPDX-License-Identifier: Apache-2.0
//
// http_peer: Go's own net/http/pprof under the same load as cprof's
// endpoint in bench/http.sh: LIVE sampled live allocations
// (MemProfileRate=1) and EXTRA goroutines asleep, for SECONDS. Prints
// "serving on PORT" on stderr.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"time"
)

var keep [][]byte

func main() {
	seconds := flag.Int("d", 60, "seconds")
	live := flag.Int("live", 10000, "live allocations")
	extra := flag.Int("threads", 64, "sleeping goroutines")
	flag.Parse()
	runtime.MemProfileRate = 1
	for i := 0; i < *live; i++ {
		keep = append(keep, make([]byte, 1024+(i%64)*16))
	}
	for i := 0; i < *extra; i++ {
		go func() {
			for {
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "serving /debug/pprof/ on http://%s/\n", ln.Addr())
	go http.Serve(ln, nil)
	time.Sleep(time.Duration(*seconds) * time.Second)
}

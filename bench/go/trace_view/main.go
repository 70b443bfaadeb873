// SPDX-License-Identifier: Apache-2.0

// trace_view is the Go twin of tests/browser/trace_prog.c -n N, the trace
// bench/trace_viewer.sh opens in the viewers: three goroutines, each on
// its own OS thread, run N iterations of two nested regions ("outer",
// "inner") around 200 multiply-adds, with a log every 64, under
// runtime/trace. The trace goes to go tool trace, cprof's to cprof trace
// -http, in the same run.
//
//	trace_view -n N -trace FILE
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"sync"
)

var sink uint64

func worker(name string, n int, wg *sync.WaitGroup) {
	defer wg.Done()
	runtime.LockOSThread()
	ctx, task := trace.NewTask(context.Background(), "worker")
	defer task.End()
	x := uint64(1)
	for i := 0; i < n; i++ {
		outer := trace.StartRegion(ctx, "outer")
		inner := trace.StartRegion(ctx, "inner")
		for k := 0; k < 200; k++ {
			x = x*6364136223846793005 + 1
		}
		inner.End()
		outer.End()
		if i%64 == 0 {
			trace.Log(ctx, "progress", fmt.Sprintf("%s at %d", name, i))
		}
	}
	sink += x
}

func main() {
	n := flag.Int("n", 83000, "iterations per goroutine")
	out := flag.String("trace", "", "write the execution trace here")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := trace.Start(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	for _, name := range []string{"alpha", "beta", "gamma"} {
		wg.Add(1)
		go worker(name, *n, &wg)
	}
	wg.Wait()
	trace.Stop()
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

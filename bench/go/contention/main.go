// SPDX-License-Identifier: Apache-2.0
//
// contention: Go's twin of bench/bench_wall.c's lock and contended
// workloads, for bench/wall.sh: the cost of an uncontended sync.Mutex
// Lock/Unlock pair, and a contended mutex's acquisitions per second, with
// Go's mutex and block profiles off or on (-mutexfraction, -blockrate).
// Prints one JSON line.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var sink uint64

func spin(n int) {
	for i := 0; i < n; i++ {
		atomic.AddUint64(&sink, 0)
	}
}

func main() {
	mode := flag.String("mode", "lock", "lock or contended")
	pairs := flag.Int("n", 2000000, "pairs (lock)")
	threads := flag.Int("threads", 4, "goroutines (contended)")
	seconds := flag.Float64("seconds", 2, "seconds (contended)")
	fraction := flag.Int("mutexfraction", 0, "runtime.SetMutexProfileFraction")
	rate := flag.Int("blockrate", 0, "runtime.SetBlockProfileRate")
	flag.Parse()
	runtime.SetMutexProfileFraction(*fraction)
	runtime.SetBlockProfileRate(*rate)
	var mu sync.Mutex
	if *mode == "lock" {
		const batch = 256
		n := *pairs / batch
		per := make([]float64, n)
		for i := 0; i < n; i++ {
			t0 := time.Now()
			for k := 0; k < batch; k++ {
				mu.Lock()
				mu.Unlock()
			}
			per[i] = float64(time.Since(t0).Nanoseconds()) / batch
		}
		sort.Float64s(per)
		fmt.Printf("{\"mode\": \"lock\", \"pairs\": %d, \"median_ns\": %.2f, "+
			"\"p99_ns\": %.2f}\n", n*batch, per[n/2], per[n*99/100])
		return
	}
	var stop int32
	var total uint64
	var wg sync.WaitGroup
	shared := 0
	t0 := time.Now()
	for i := 0; i < *threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n uint64
			for atomic.LoadInt32(&stop) == 0 {
				mu.Lock()
				shared++
				spin(50)
				mu.Unlock()
				spin(200)
				n++
			}
			atomic.AddUint64(&total, n)
		}()
	}
	time.Sleep(time.Duration(*seconds * float64(time.Second)))
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	el := time.Since(t0).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	fmt.Printf("{\"mode\": \"contended\", \"threads\": %d, \"ops_per_s\": %.1f, "+
		"\"cpu_per_s\": %.4f, \"seconds\": %.3f}\n", *threads,
		float64(total)/el, cpu/el, el)
}

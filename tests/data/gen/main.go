// SPDX-License-Identifier: Apache-2.0
//
// gen writes the sample Go profiles in tests/data (see regen.sh): a CPU
// profile with pprof labels and inlined frames, and a heap profile with
// numeric "bytes" labels, from Go's own runtime/pprof. The decoder tests
// read them as real-world input that cprof did not write itself.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"
)

var sink []byte
var keep [][]byte

//go:noinline
func hashLoop(n int) {
	b := make([]byte, 4096)
	for i := 0; i < n; i++ {
		s := sha256.Sum256(b)
		b[0] = s[0]
	}
	sink = b
}

// small enough to be inlined into its caller: an inlined frame
func square(x int) int { return x * x }

//go:noinline
func sortLoop(n int) {
	v := make([]int, 2000)
	for i := 0; i < n; i++ {
		for j := range v {
			v[j] = square(j*7919) % 10007
		}
		sort.Ints(v)
	}
}

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 64+i%512))
	}
}

//go:noinline
func allocBig(n int) {
	for i := 0; i < n; i++ {
		keep = append(keep, make([]byte, 256<<10))
	}
}

func busy(d time.Duration, f func()) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		f()
	}
}

func main() {
	cpuPath := flag.String("cpu", "cpu.prof", "CPU profile to write")
	heapPath := flag.String("heap", "heap.prof", "heap profile to write")
	dur := flag.Duration("d", 1500*time.Millisecond, "CPU work time")
	flag.Parse()
	runtime.MemProfileRate = 16 << 10

	f, err := os.Create(*cpuPath)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	pprof.Do(ctx, pprof.Labels("phase", "hash"), func(context.Context) {
		busy(*dur/2, func() { hashLoop(200) })
	})
	pprof.Do(ctx, pprof.Labels("phase", "sort", "worker", "1"), func(context.Context) {
		busy(*dur/2, func() { sortLoop(5) })
	})
	pprof.StopCPUProfile()
	f.Close()

	allocSmall(20000)
	allocBig(40)
	runtime.GC()
	h, err := os.Create(*heapPath)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.WriteHeapProfile(h); err != nil {
		log.Fatal(err)
	}
	h.Close()
	runtime.KeepAlive(keep)
}

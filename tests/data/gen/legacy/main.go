// SPDX-License-Identifier: Apache-2.0
//
// legacy writes the Go profiles of tests/data that the cprof command's
// tests read besides the profile helper's go-cpu.prof and go-heap.prof
// (see ../regen_legacy.sh):
//
//	go-cpu-b.prof     a second CPU profile of the same functions, with a
//	                  different mix: the -base / -diff_base partner of
//	                  go-cpu.prof
//	go-heap.txt       heap profile in Go's legacy text (debug=1)
//	go-heap-proto.prof  the same heap data as profile.proto (debug=0)
//	go-goroutine.txt  goroutine profile, debug=1 ("goroutine profile:")
//	go-mutex.txt      mutex profile, debug=1 ("--- mutex:")
//	go-block.txt      block profile, debug=1 ("--- contention:")
//
// Function names match tests/data/gen/main.go's where they do the same
// work, so diffs against go-cpu.prof line up.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
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

//go:noinline
func sortLoop(n int) {
	v := make([]int, 2000)
	for i := 0; i < n; i++ {
		for j := range v {
			v[j] = (j * 7919) % 10007
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

//go:noinline
func contend(mu *sync.Mutex, n int) {
	for i := 0; i < n; i++ {
		mu.Lock()
		sortLoop(1)
		mu.Unlock()
	}
}

//go:noinline
func waitChan(c chan int) { <-c }

func write(dir, name string, debug int) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		log.Fatal(err)
	}
	p := map[string]string{"go-heap.txt": "heap", "go-heap-proto.prof": "heap",
		"go-goroutine.txt": "goroutine",
		"go-mutex.txt": "mutex", "go-block.txt": "block"}[name]
	if err := pprof.Lookup(p).WriteTo(f, debug); err != nil {
		log.Fatal(err)
	}
	f.Close()
}

func main() {
	dir := flag.String("dir", ".", "where to write")
	dur := flag.Duration("d", 1200*time.Millisecond, "CPU work time")
	flag.Parse()
	runtime.MemProfileRate = 16 << 10
	runtime.SetMutexProfileFraction(1)
	runtime.SetBlockProfileRate(1)

	f, err := os.Create(filepath.Join(*dir, "go-cpu-b.prof"))
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	pprof.Do(ctx, pprof.Labels("phase", "hash"), func(context.Context) {
		busy(*dur/4, func() { hashLoop(200) })
	})
	pprof.Do(ctx, pprof.Labels("phase", "sort", "worker", "2"), func(context.Context) {
		busy(*dur*3/4, func() { sortLoop(5) })
	})
	pprof.StopCPUProfile()
	f.Close()

	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); contend(&mu, 200) }()
	}
	wg.Wait()
	c := make(chan int)
	for i := 0; i < 3; i++ {
		go waitChan(c)
	}
	time.Sleep(20 * time.Millisecond)

	allocSmall(20000)
	allocBig(40)
	runtime.GC()
	// the same heap data twice: memory profiles are as of the last GC
	write(*dir, "go-heap.txt", 1)
	write(*dir, "go-heap-proto.prof", 0)
	write(*dir, "go-goroutine.txt", 1)
	write(*dir, "go-mutex.txt", 1)
	for i := 0; i < 3; i++ {
		c <- i
	}
	time.Sleep(10 * time.Millisecond)
	write(*dir, "go-block.txt", 1)
	runtime.KeepAlive(keep)
}

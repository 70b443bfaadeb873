// SPDX-License-Identifier: Apache-2.0

// hash_bench is the Go twin of examples/hash_bench.c: the same hash, the
// same flags (-n -r -t -cpuprofile), the same result line and checksum, so
// the two can be run side by side (docs/hash-bench-study.md).
//
// Hash i is FNV-1a 64 over a 64-byte message made from i (makeMessage);
// the checksum is the XOR of all N hashes. This is the naive
// version on purpose, one hash at a time, as in the C file: both are bound
// by the latency of 64 dependent multiplies per hash and run at the same
// speed.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/bits"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

const (
	msgLen     = 64
	maxThreads = 1024
	fnvOffset  = 0xcbf29ce484222325
	fnvPrime   = 0x100000001b3
)

// Hashes done by all goroutines; each adds every -r hashes.
var progress uint64

// fnv1a64 is FNV-1a, 64-bit: one xor and one multiply per byte.
//
//go:noinline
func fnv1a64(p *[msgLen]byte) uint64 {
	h, prime := uint64(fnvOffset), uint64(fnvPrime)
	for _, b := range p {
		h ^= uint64(b)
		h *= prime
	}
	return h
}

// makeMessage fills msg with 8 little-endian words, word k being
// i XOR (k+1) * 2^64/phi, as make_message in the C version.
//
//go:noinline
func makeMessage(i uint64, msg *[msgLen]byte) {
	for k := uint64(0); k < msgLen/8; k++ {
		binary.LittleEndian.PutUint64(msg[k*8:k*8+8], i^((k+1)*0x9e3779b97f4a7c15))
	}
}

// hashRange returns the XOR of hashes begin..end-1, reporting progress
// every `every` hashes.
//
//go:noinline
func hashRange(begin, end, every uint64) uint64 {
	var msg [msgLen]byte
	var sum, since uint64
	for i := begin; i < end; i++ {
		makeMessage(i, &msg)
		sum ^= fnv1a64(&msg)
		since++
		if since == every {
			atomic.AddUint64(&progress, since)
			since = 0
		}
	}
	atomic.AddUint64(&progress, since)
	return sum
}

func usage() {
	fmt.Fprintln(flag.CommandLine.Output(),
		"usage: hash_bench [-n HASHES] [-r REPORT_EVERY] [-t THREADS] [-cpuprofile FILE]")
}

func main() {
	n := flag.Uint64("n", 100000000, "hashes to compute")
	every := flag.Uint64("r", 100000, "report progress every this many hashes")
	threads := flag.Int("t", 1, "threads (goroutines)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Usage = usage
	flag.Parse()
	bad := func(msg string) {
		fmt.Fprintln(os.Stderr, "hash_bench: "+msg)
		usage()
		os.Exit(2)
	}
	switch {
	case flag.NArg() > 0:
		bad(fmt.Sprintf("unexpected argument '%s'", flag.Arg(0)))
	case *n == 0 || *every == 0:
		bad("-n and -r want a positive integer")
	case *threads < 1 || *threads > maxThreads:
		bad(fmt.Sprintf("invalid value \"%d\" for -t: want 1 to 1024 threads", *threads))
	}
	nthreads := uint64(*threads)
	if nthreads > *n {
		nthreads = *n
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "hash_bench: cannot start the CPU profile: %v\n", err)
			os.Exit(1)
		}
		defer f.Close()
	}

	t0 := time.Now()
	sums := make([]uint64, nthreads)
	var wg sync.WaitGroup
	for k := uint64(0); k < nthreads; k++ {
		// An even split: goroutine k gets [k*n/T, (k+1)*n/T).
		begin := mulDiv(*n, k, nthreads)
		end := mulDiv(*n, k+1, nthreads)
		wg.Add(1)
		go func(k, begin, end uint64) {
			defer wg.Done()
			sums[k] = hashRange(begin, end, *every)
		}(k, begin, end)
	}

	// Progress on stderr once a second; the result alone on stdout.
	last := t0
	for atomic.LoadUint64(&progress) < *n {
		time.Sleep(20 * time.Millisecond)
		if t := time.Now(); t.Sub(last) >= time.Second {
			done := atomic.LoadUint64(&progress)
			el := t.Sub(t0).Seconds()
			fmt.Fprintf(os.Stderr, "hash_bench: %d of %d hashes (%.0f%%) in %.1f s: %.0f hashes/s\n",
				done, *n, 100*float64(done)/float64(*n), el, float64(done)/el)
			last = t
		}
	}
	wg.Wait()
	var sum uint64
	for _, s := range sums {
		sum ^= s
	}
	secs := time.Since(t0).Seconds()
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	fmt.Printf("hash_bench: %d hashes in %.3f s: %.0f hashes/s (%d threads) checksum 0x%016x\n",
		*n, secs, float64(*n)/secs, nthreads, sum)
}

// mulDiv returns a*b/c in 128-bit arithmetic, as the C version does; b <= c
// keeps the quotient within 64 bits.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

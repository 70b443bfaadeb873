// SPDX-License-Identifier: Apache-2.0

// trace_hash is the Go twin of bench/bench_trace_hash.c: hash_bench's
// work (FNV-1a 64 over a 64-byte message per index, XOR checksum; one
// goroutine) with a runtime/trace region around every K hashes, traced
// (-trace FILE) or not, so bench/trace.sh can compare what Go's tracer
// costs with what cprof's does on the same program, in the same run.
//
//	trace_hash -n HASHES -k HASHES_PER_REGION [-trace FILE]
//	trace_hash -micro CALLS -trace FILE   (cost of a region pair, a log)
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"runtime/trace"
	"sort"
	"time"
)

const msgLen = 64

//go:noinline
func fnv1a64(p *[msgLen]byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, b := range p {
		h ^= uint64(b)
		h *= 0x100000001b3
	}
	return h
}

func makeMessage(i uint64, msg *[msgLen]byte) {
	for k := 0; k < 8; k++ {
		binary.LittleEndian.PutUint64(msg[8*k:], i^(uint64(k+1)*0x9e3779b97f4a7c15))
	}
}

// micro times each call alone (median, p99), as bench_trace.c does.
func micro(ctx context.Context, n int) {
	v := make([]time.Duration, n)
	empty := make([]time.Duration, n)
	for i := range empty {
		t0 := time.Now()
		empty[i] = time.Since(t0)
	}
	sort.Slice(empty, func(a, b int) bool { return empty[a] < empty[b] })
	base := empty[n/2]
	report := func(what string) {
		sort.Slice(v, func(a, b int) bool { return v[a] < v[b] })
		fmt.Printf("%-34s median %6.1f ns   p99 %7.1f ns\n", what,
			float64(v[n/2]-base), float64(v[n*99/100]-base))
	}
	for i := range v {
		t0 := time.Now()
		trace.StartRegion(ctx, "bench").End()
		v[i] = time.Since(t0)
	}
	report("go region pair, tracing")
	for i := range v {
		t0 := time.Now()
		trace.Log(ctx, "bench", "sixteen byte msg")
		v[i] = time.Since(t0)
	}
	report("go log (16-byte message), tracing")
	t0 := time.Now()
	for i := 0; i < n; i++ {
		trace.StartRegion(ctx, "bench").End()
	}
	fmt.Printf("%-34s mean   %6.1f ns\n", "go region pair, back to back",
		float64(time.Since(t0))/float64(n))
}

func main() {
	n := flag.Uint64("n", 100000000, "hashes")
	k := flag.Uint64("k", 100, "hashes per region")
	out := flag.String("trace", "", "write an execution trace")
	m := flag.Int("micro", 0, "time region pairs and logs instead")
	flag.Parse()
	ctx := context.Background()
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer trace.Stop()
	}
	if *m > 0 {
		micro(ctx, *m)
		return
	}
	var msg [msgLen]byte
	var sum, regions uint64
	t0 := time.Now()
	for i := uint64(0); i < *n; i += *k {
		end := i + *k
		if end > *n {
			end = *n
		}
		r := trace.StartRegion(ctx, "hash-block")
		for j := i; j < end; j++ {
			makeMessage(j, &msg)
			sum ^= fnv1a64(&msg)
		}
		r.End()
		regions++
	}
	fmt.Printf("hashes %d regions %d seconds %.4f checksum %016x\n", *n,
		regions, time.Since(t0).Seconds(), sum)
}

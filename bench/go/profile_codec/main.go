// SPDX-License-Identifier: Apache-2.0
//
// profile_codec is the Go peer of bench/bench_codec.c: it parses and
// writes a profile with github.com/google/pprof/profile (the code inside
// go tool pprof), reporting the median CPU time of several runs.
//
//	profile_codec [-r RUNS] FILE
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(v []time.Duration) time.Duration {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	return v[len(v)/2]
}

func main() {
	runs := flag.Int("r", 3, "runs")
	flag.Parse()
	data, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var dec, enc []time.Duration
	var p *profile.Profile
	for r := 0; r < *runs; r++ {
		runtime.GC()
		t := cpu()
		p, err = profile.Parse(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		dec = append(dec, cpu()-t)
		var out bytes.Buffer
		t = cpu()
		if err := p.Write(&out); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		enc = append(enc, cpu()-t)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("go profile.Parse (gzip) %.3f s, profile.Write (gzip) %.3f s, %d samples, heap sys %d MiB\n",
		median(dec).Seconds(), median(enc).Seconds(), len(p.Sample), ms.HeapSys>>20)
}

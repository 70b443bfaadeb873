// SPDX-License-Identifier: Apache-2.0
//
// cli_rgen writes a random profile.proto (seeded, deterministic) with the
// shapes that trip a pprof reimplementation: stacks over a few functions
// (recursion, repeated frames), inlined lines, locations without lines or
// mapping, functions without names, file names that need cleaning, string
// and numeric labels (with and without units), negative values, empty
// stacks, comments, default sample types, drop_frames. check_cli.py random
// compares cprof and go tool pprof on them. Built against Debian's
// golang-github-google-pprof-dev (GOPATH=/usr/share/gocode).
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"

	"github.com/google/pprof/profile"
)

func main() {
	seed := flag.Int64("seed", 1, "")
	out := flag.String("o", "r.prof", "")
	flag.Parse()
	r := rand.New(rand.NewSource(*seed))
	nf := 3 + r.Intn(30)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10000000, TimeNanos: 1700000000000000000 + r.Int63n(1e15), DurationNanos: r.Int63n(5e9),
	}
	if r.Intn(3) == 0 {
		p.SampleType = []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"}, {Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}}
		p.PeriodType = &profile.ValueType{Type: "space", Unit: "bytes"}
	}
	m := &profile.Mapping{ID: 1, Start: 0x400000, Limit: 0x800000, File: "/bin/prog", HasFunctions: true, HasFilenames: true, HasLineNumbers: true, HasInlineFrames: true}
	m2 := &profile.Mapping{ID: 2, Start: 0x7f0000000000, Limit: 0x7f0000100000, File: "/lib/libx.so", HasFunctions: r.Intn(2) == 0}
	p.Mapping = []*profile.Mapping{m, m2}
	files := []string{"a.c", "/src/b.c", "./c/../d.c", "x/y.c", ""}
	for i := 0; i < nf; i++ {
		name := fmt.Sprintf("f%d", r.Intn(nf))
		if r.Intn(15) == 0 {
			name = ""
		}
		if r.Intn(5) == 0 {
			name = fmt.Sprintf("ns::C%d::m", i)
		}
		p.Function = append(p.Function, &profile.Function{ID: uint64(i + 1), Name: name, SystemName: name + "_s", Filename: files[r.Intn(len(files))], StartLine: int64(r.Intn(50))})
	}
	nl := 5 + r.Intn(60)
	for i := 0; i < nl; i++ {
		l := &profile.Location{ID: uint64(i + 1), Address: 0x400000 + uint64(r.Intn(0x1000)), Mapping: m}
		if r.Intn(20) == 0 {
			l.Mapping = nil
		} else if r.Intn(8) == 0 {
			l.Mapping = m2
			l.Address = 0x7f0000000000 + uint64(r.Intn(0x1000))
		}
		if !(l.Mapping == m2 && !m2.HasFunctions) {
			k := 1 + r.Intn(3)
			if r.Intn(3) != 0 {
				k = 1
			}
			for j := 0; j < k; j++ {
				l.Line = append(l.Line, profile.Line{Function: p.Function[r.Intn(nf)], Line: int64(r.Intn(100))})
			}
		}
		p.Location = append(p.Location, l)
	}
	ns := 1 + r.Intn(200)
	for i := 0; i < ns; i++ {
		d := 1 + r.Intn(12)
		if r.Intn(30) == 0 {
			d = 0
		}
		s := &profile.Sample{}
		for j := 0; j < d; j++ {
			s.Location = append(s.Location, p.Location[r.Intn(nl)])
		}
		for range p.SampleType {
			v := int64(r.Intn(5)) * int64(1+r.Intn(3))
			if r.Intn(20) == 0 {
				v = -v
			}
			s.Value = append(s.Value, v*int64(1+r.Intn(100000)))
		}
		if r.Intn(2) == 0 {
			s.Label = map[string][]string{"thread": {fmt.Sprint(r.Intn(3))}}
			if r.Intn(2) == 0 {
				s.Label["phase"] = []string{[]string{"a", "b", "c"}[r.Intn(3)]}
			}
		}
		if r.Intn(3) == 0 {
			s.NumLabel = map[string][]int64{"bytes": {int64(r.Intn(5000))}}
			if r.Intn(2) == 0 {
				s.NumUnit = map[string][]string{"bytes": {"bytes"}}
			}
			if r.Intn(3) == 0 {
				s.NumLabel["request"] = []int64{int64(r.Intn(100))}
			}
		}
		p.Sample = append(p.Sample, s)
	}
	if r.Intn(3) == 0 {
		p.Comments = []string{"hello comment", "#hidden"}
	}
	if r.Intn(3) == 0 {
		p.DefaultSampleType = p.SampleType[0].Type
	}
	if r.Intn(4) == 0 {
		p.DropFrames = "f1|f2"
	}
	f, _ := os.Create(*out)
	p.Write(f)
	f.Close()
}

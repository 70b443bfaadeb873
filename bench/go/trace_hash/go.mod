module cprof.bench/trace_hash

go 1.19

module cprof.example/hash_bench

go 1.19

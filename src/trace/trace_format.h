/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trace_format.h - the numbers of cprof's execution trace format, version
 * 1 (docs/trace-format.md), and the varint helpers both sides use: the
 * writer in libcprof (tracebuf.c, trace.c) and the reader (trace_read.c)
 * that the command, the fuzzer and the tests link.
 *
 * A trace is a 16-byte header and a sequence of self-delimiting chunks
 * (kind byte, length varint, payload). The writer appends whole chunks
 * only, so a trace cut short (kill -9, full disk) is a readable prefix.
 * Per-thread event data keeps each thread's events in order with
 * timestamps as deltas in clock units; everything repeated (strings,
 * stacks) is interned and defined in its own chunk before first use.
 *
 * The helpers are inline and touch no global state: safe anywhere,
 * including signal handlers.
 */
#ifndef CP_TRACE_FORMAT_H
#define CP_TRACE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* File header: magic, major, minor, 6 reserved zero bytes. */
#define CP_TRF_MAGIC "cproftrc"
#define CP_TRF_MAGIC_LEN 8
#define CP_TRF_HEADER_LEN 16
#define CP_TRF_MAJOR 1 /* incompatible changes */
#define CP_TRF_MINOR 0 /* new chunk kinds or skippable events */

/* Chunk kinds. Readers skip kinds they do not know. */
enum cp_trf_chunk {
    CP_TRC_INFO = 1,     /* n, n x (str key, str value) */
    CP_TRC_SYNC = 2,     /* units, monotonic ns, realtime ns */
    CP_TRC_STRINGS = 3,  /* n, n x (id, len, bytes) */
    CP_TRC_STACKS = 4,   /* n, n x (id, depth, pc0, zigzag deltas...) */
    CP_TRC_MAPPINGS = 5, /* n, n x (start, limit, offset, str path, str
                            build id) */
    CP_TRC_BATCH = 6,    /* tid, flags, per-thread events to the end */
    CP_TRC_GLOBAL = 7,   /* base ns, global events to the end */
    CP_TRC_SYMBOLS = 8,  /* n, n x (pc, nframes, nframes x (str function,
                            str file, line)) */
    CP_TRC_END = 9,      /* events, dropped, n, n x (tid, dropped) */
};

/* BATCH flags */
#define CP_TRB_NEW_BUFFER 1 /* first batch of a thread buffer: reset the
                               delta state (absolute time follows) */

/*
 * Per-thread events (in BATCH chunks): type byte, uvarint dt in clock
 * units since the previous event of the same buffer, then the arguments.
 * "str" is a string id (uvarint), 0 meaning "".
 */
enum cp_trf_event {
    CP_TRE_PAD = 0,          /* no time, no arguments: ignored */
    CP_TRE_REGION_BEGIN = 1, /* str name */
    CP_TRE_REGION_END = 2,   /* - */
    CP_TRE_TASK_BEGIN = 3,   /* task id, str name */
    CP_TRE_TASK_END = 4,     /* task id */
    CP_TRE_LOG = 5,          /* str category, len, message bytes */
    CP_TRE_CPU = 6,          /* cpu: the thread runs there from now on */
    CP_TRE_BLOCK = 7,        /* kind byte, str call, duration units,
                                stack id, object; the time is the end */
    CP_TRE_LOST = 8,         /* n: events lost just before this one */
    CP_TRE_THREAD_START = 9, /* creator tid, start-routine stack id,
                                creation stack id, str name */
    CP_TRE_THREAD_EXIT = 10, /* - */
    CP_TRE_THREAD_NAME = 11, /* str name */
    /* Types >= CP_TRE_SKIPPABLE carry a uvarint byte length after dt, so
     * a reader that does not know them steps over them. */
    CP_TRE_SKIPPABLE = 64,
};

/*
 * Global events (in GLOBAL chunks), written by cprof's writer thread on
 * behalf of a thread: type byte, svarint dt in ns since the previous event
 * of the chunk (the first: since the chunk's base), uvarint tid, args.
 */
enum cp_trf_gevent {
    CP_TRG_SAMPLE = 32,      /* cpu, stack id, weight */
    CP_TRG_SCHED_IN = 33,    /* cpu */
    CP_TRG_SCHED_OUT = 34,   /* flags (CP_TRS_PREEMPTED) */
    CP_TRG_COUNTER = 35,     /* str name, svarint value (tid 0) */
    CP_TRG_THREAD = 36,      /* a thread that existed before the trace or
                                was found later: creator tid, start-routine
                                stack, creation stack, str name */
    CP_TRG_THREAD_NAME = 37, /* str name */
    CP_TRG_THREAD_GONE = 38, /* - */
    CP_TRG_SCHED_LOST = 39,  /* n records the kernel could not store */
    CP_TRG_SCHED_MODE = 40,  /* mode: CP_TRM_* */
    CP_TRG_SKIPPABLE = 64,   /* as CP_TRE_SKIPPABLE */
};

#define CP_TRS_PREEMPTED 1 /* switched out while runnable */

enum cp_trf_sched_mode {
    CP_TRM_ESTIMATED = 0, /* on/off-CPU from blocking calls and samples */
    CP_TRM_PRECISE = 1,   /* perf_event context-switch records */
};

/* BLOCK kinds (the same numbers as enum cp_sync_kind in src/sync.h). */
enum cp_trf_block {
    CP_TRK_MUTEX = 1,
    CP_TRK_RWLOCK_RD = 2,
    CP_TRK_RWLOCK_WR = 3,
    CP_TRK_COND = 4,
    CP_TRK_SEM = 5,
    CP_TRK_JOIN = 6,
    CP_TRK_SLEEP = 7,
    CP_TRK_SYSCALL = 8,
    CP_TRK__COUNT
};

/* Longest varint (64-bit value). */
#define CP_VARINT_MAX 10

/* Append v as an unsigned LEB128 varint at p; returns the end. */
static inline uint8_t *cp_put_uvarint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint64_t cp_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t cp_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint8_t *cp_put_svarint(uint8_t *p, int64_t v)
{
    return cp_put_uvarint(p, cp_zigzag(v));
}

/*
 * Read a varint from [*pp, end). Returns 0 and advances *pp, or -1 when the
 * bytes end first or the varint is longer than 10 bytes.
 */
static inline int cp_get_uvarint(const uint8_t **pp, const uint8_t *end,
                                 uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

#endif /* CP_TRACE_FORMAT_H */

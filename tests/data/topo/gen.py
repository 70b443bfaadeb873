#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen.py - generate the sysfs fixture trees that `cprof topo` tests read.

Each tree is tests/data/topo/<name>/sys/devices/system/cpu/... holding only
the files cli/topo.c reads (online, possible, cpuN/topology/*,
cpuN/cache/indexM/{level,type,size,shared_cpu_list}), with the contents
the kernel writes on such a machine. Run it after changing the machines
below and commit the result:

    python3 tests/data/topo/gen.py

Machines:
  xeon-2s16c   2 sockets x 16 cores x 2 threads (Xeon Gold 6142 class),
               SMT siblings are cpuN and cpuN+32, core ids with gaps, an
               older kernel layout (thread_siblings_list only, no die_id)
  ryzen-8c16t  1 socket, 8 cores, 16 threads, siblings adjacent (0-1, 2-3),
               two 4-core CCXs with an L3 each, Linux 5.x layout
  vm-2cpu      a 2-vCPU KVM guest without SMT (like the project's VM)
  smt-off      4 cores x 2 threads with SMT switched off: CPUs 4-7 possible
               but offline, so they have no topology or cache directory
  vm-nocache   vm-2cpu without cache directories (some VMs and containers)
  corrupt      malformed files everywhere: must give a sentence, not a crash
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def cpulist(cpus):
    """The kernel's cpulist format: ranges compressed, ascending."""
    cpus = sorted(set(cpus))
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else "%d-%d" % (cpus[i], cpus[j]))
        i = j + 1
    return ",".join(out)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")


class Machine:
    def __init__(self, name):
        self.name = name
        self.root = os.path.join(HERE, name, "sys", "devices", "system", "cpu")
        self.files = {}

    def put(self, rel, text):
        self.files[rel] = str(text)

    def cpu(self, n, socket, core_id, siblings, die=None, new_layout=False):
        t = "cpu%d/topology/" % n
        self.put(t + "physical_package_id", socket)
        self.put(t + "core_id", core_id)
        self.put(t + "thread_siblings_list", cpulist(siblings))
        if new_layout:
            self.put(t + "core_cpus_list", cpulist(siblings))
        if die is not None:
            self.put(t + "die_id", die)

    def cache(self, n, index, level, type_, size_k, shared):
        c = "cpu%d/cache/index%d/" % (n, index)
        self.put(c + "level", level)
        self.put(c + "type", type_)
        self.put(c + "size", "%dK" % size_k)
        self.put(c + "shared_cpu_list", cpulist(shared))

    def save(self):
        top = os.path.join(HERE, self.name)
        if os.path.isdir(top):
            shutil.rmtree(top)
        for rel, text in sorted(self.files.items()):
            write(os.path.join(self.root, rel), text)


def xeon_2s16c():
    m = Machine("xeon-2s16c")
    cores, threads = 16, 2
    ncpu = 2 * cores * threads
    # Skylake-SP parts with disabled tiles number their cores with gaps.
    core_ids = [0, 1, 2, 3, 4, 8, 9, 10, 11, 16, 17, 18, 19, 20, 24, 25]
    m.put("online", cpulist(range(ncpu)))
    m.put("possible", cpulist(range(ncpu)))
    for n in range(ncpu):
        first = n % 32             # the first thread of this core
        socket = first // cores
        sibs = [first, first + 32]
        m.cpu(n, socket, core_ids[first % cores], sibs)
        sock_cpus = [c for c in range(ncpu) if (c % 32) // cores == socket]
        m.cache(n, 0, 1, "Data", 32, sibs)
        m.cache(n, 1, 1, "Instruction", 32, sibs)
        m.cache(n, 2, 2, "Unified", 1024, sibs)
        m.cache(n, 3, 3, "Unified", 22528, sock_cpus)
    m.save()


def ryzen_8c16t():
    m = Machine("ryzen-8c16t")
    ncpu = 16
    m.put("online", cpulist(range(ncpu)))
    m.put("possible", cpulist(range(ncpu)))
    for n in range(ncpu):
        core = n // 2
        sibs = [2 * core, 2 * core + 1]
        ccx = list(range(8 * (n // 8), 8 * (n // 8) + 8))
        m.cpu(n, 0, core, sibs, die=0, new_layout=True)
        m.cache(n, 0, 1, "Data", 32, sibs)
        m.cache(n, 1, 1, "Instruction", 64, sibs)
        m.cache(n, 2, 2, "Unified", 512, sibs)
        m.cache(n, 3, 3, "Unified", 8192, ccx)
    m.save()


def vm_2cpu(name="vm-2cpu", caches=True):
    m = Machine(name)
    m.put("online", "0-1")
    m.put("possible", "0-1")
    for n in range(2):
        m.cpu(n, 0, n, [n], die=0, new_layout=True)
        if caches:
            m.cache(n, 0, 1, "Data", 32, [n])
            m.cache(n, 1, 1, "Instruction", 32, [n])
            m.cache(n, 2, 2, "Unified", 512, [n])
            m.cache(n, 3, 3, "Unified", 32768, [0, 1])
    m.save()


def smt_off():
    m = Machine("smt-off")
    # echo off > /sys/devices/system/cpu/smt/control on a 4c/8t laptop
    # whose siblings are cpuN and cpuN+4: the second threads go offline.
    m.put("online", "0-3")
    m.put("possible", "0-7")
    m.put("offline", "4-7")
    for n in range(4):
        m.cpu(n, 0, n, [n], die=0, new_layout=True)
        m.cache(n, 0, 1, "Data", 32, [n])
        m.cache(n, 1, 1, "Instruction", 32, [n])
        m.cache(n, 2, 2, "Unified", 256, [n])
        m.cache(n, 3, 3, "Unified", 8192, range(4))
    for n in range(4, 8):
        m.put("cpu%d/online" % n, 0)
    m.save()


def corrupt():
    m = Machine("corrupt")
    m.put("online", "0-3")
    m.put("possible", "0-3,junk")
    m.put("cpu0/topology/physical_package_id", "zero")
    m.put("cpu0/topology/core_id", "0")
    m.put("cpu0/topology/thread_siblings_list", "0-1")
    m.put("cpu1/topology/core_id", "99999999999999999999")
    m.put("cpu1/topology/thread_siblings_list", "5-2")
    m.put("cpu2/topology/thread_siblings_list", "0-100000")
    m.put("cpu3/topology/thread_siblings_list", "1")  # not itself
    m.put("cpu0/cache/index0/level", "banana")
    m.put("cpu0/cache/index1/level", "2")
    m.put("cpu0/cache/index1/size", "12Q")
    m.put("cpu0/cache/index1/shared_cpu_list", ",,,")
    m.put("cpu1/cache/index0/level", "1")
    m.put("cpu1/cache/index0/type", "Data")
    m.put("cpu1/cache/index0/size", "32K")
    m.put("cpu1/cache/index0/shared_cpu_list", "0-3")
    m.save()


if __name__ == "__main__":
    xeon_2s16c()
    ryzen_8c16t()
    vm_2cpu()
    vm_2cpu("vm-nocache", caches=False)
    smt_off()
    corrupt()

"""The bad-input corpus (tests/fixtures/bad): each file, run through the CLI, must exit 2 with nothing on stdout and
exactly the stderr lines tests/fixtures/bad/expected.txt gives - every error of the file, each naming the file and
the JSON path. Inputs too big to commit (> 1000 rules, > 4000 addresses, > 400 routes, > 25 tag routes, 50 MB) are
generated here in a temporary directory.
"""
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import unittest

from cli_common import FIXTURES, MINET, ROOT, TAGS_2025, run, tags_doc, tempdir

BAD = os.path.join(FIXTURES, "bad")
GOOD = os.path.join(FIXTURES, "good")
FLOW = ["--direction", "inbound", "--protocol", "tcp", "--src", "1.2.3.4:1", "--dst", "10.0.0.4:80"]


# Preloaded by a test: pthread_create or open_memstream fail on request, as they may when memory is short.
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*f)(void *), void *arg)
{
	if (getenv("MINET_TEST_NO_THREAD"))
		return EAGAIN;
	int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) = dlsym(RTLD_NEXT, "pthread_create");
	return real(t, a, f, arg);
}

FILE *open_memstream(char **p, size_t *n)
{
	if (getenv("MINET_TEST_NO_MEMSTREAM")) {
		errno = ENOMEM;
		return NULL;
	}
	FILE *(*real)(char **, size_t *) = dlsym(RTLD_NEXT, "open_memstream");
	return real(p, n);
}
"""


def parse_expected(path):
    """[(args, [stderr lines])] from expected.txt."""
    cases, cur = [], None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if line.startswith("== "):
                cur = (shlex.split(line[3:]), [])
                cases.append(cur)
            elif not line:
                cur = None
            else:
                assert cur is not None, "stderr line outside a case: %r" % line
                cur[1].append(line)
    return cases


def full_args(args):
    verb, rest = args[0], list(args[1:])
    out = [verb]
    if "--tags" not in rest:
        out += ["--tags", "../good/tags.json"]
    if "--vnet" not in rest:
        out += ["--vnet", "10.0.0.0/16"]
    out += rest
    if verb == "flow":
        if "--nsg" not in rest:
            out += ["--nsg", "../good/nsg.json"]
        out += FLOW
    else:
        out += ["--dst", "1.1.1.1"]
    return out


def rule(name, prio, direction="Inbound", **kw):
    p = {"protocol": "Tcp", "sourcePortRange": "*", "destinationPortRange": "*", "sourceAddressPrefix": "*",
         "destinationAddressPrefix": "*", "access": "Allow", "direction": direction, "priority": prio}
    p.update(kw)
    return {"name": name, "properties": {k: v for k, v in p.items() if v is not None}}


def nsg(rules):
    return {"name": "gen-nsg", "properties": {"securityRules": rules}}


def rt(routes):
    return {"name": "gen-rt", "properties": {"routes": [{"name": n, "properties": p} for n, p in routes]}}


# Fault injection (TestAllocationFailures): FAIL_AT=N makes allocation N and every later one fail (memory gone);
# with FAIL_ONLY set, N alone (a large request refused, the next ones granted). NO_BIG_MMAP refuses mappings of
# 512 MiB or more, so a short run gets no region (cli/heap.h). FAIL_COUNT prints how many allocations the run made.
FAILMALLOC = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static _Atomic long count;
static long at = -1;
static int only;
__attribute__((constructor)) static void init(void)
{
	const char *s = getenv("FAIL_AT");
	at = s ? atol(s) : -1;
	only = getenv("FAIL_ONLY") != NULL;
}
static int fail(void)
{
	long c = atomic_fetch_add(&count, 1);
	if (at >= 0 && (only ? c == at : c >= at)) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}
void *malloc(size_t n) { return fail() ? NULL : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return fail() ? NULL : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return fail() ? NULL : __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { return fail() ? NULL : __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { return fail() ? NULL : __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
	if (fail())
		return ENOMEM;
	*p = __libc_memalign(a, n);
	return *p ? 0 : ENOMEM;
}
void *mmap(void *a, size_t n, int prot, int flags, int fd, off_t off)
{
	if (getenv("NO_BIG_MMAP") && n >= ((size_t)512 << 20)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return (void *)syscall(SYS_mmap, a, n, prot, flags, fd, off);
}
__attribute__((destructor)) static void done(void)
{
	if (getenv("FAIL_COUNT"))
		dprintf(2, "allocations %ld\n", (long)count);
}
"""

class TestCorpus(unittest.TestCase):
    def test_corpus_size_and_coverage(self):
        cases = parse_expected(os.path.join(BAD, "expected.txt"))
        files = sorted(f for f in os.listdir(BAD) if f.endswith(".json"))
        self.assertGreaterEqual(len(files), 25)
        named = {a for args, _ in cases for a in args if a.endswith(".json") and not a.startswith("../")}
        self.assertEqual(sorted(named), files, "every corpus file must have a case, and every case a file")

    def test_expected_messages(self):
        for args, want in parse_expected(os.path.join(BAD, "expected.txt")):
            with self.subTest(" ".join(args)):
                self.assertTrue(want, "a case without expected lines")
                p = run(full_args(args), cwd=BAD)
                self.assertEqual(p.returncode, 2, p.stdout)
                self.assertEqual(p.stdout, "")
                self.assertEqual(p.stderr.splitlines(), want)

    def test_expected_messages_read_one_after_the_other(self):
        # The files are read on a second thread, each into a hold (src/cli/policy.c). Without the thread
        # (pthread_create fails) or without memory for the holds (open_memstream fails) the lines must be the same.
        d = tempdir(self)
        shim = os.path.join(d.path, "shim.so")
        src = d.write("shim.c", SHIM)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", shim, src, "-ldl"], check=True)
        env = dict(os.environ, LD_PRELOAD=shim)
        if subprocess.run([MINET, "--version"], env=env, capture_output=True).returncode != 0:
            self.skipTest("this build does not run with a preloaded library (AddressSanitizer wants to come first)")
        for knob in ("MINET_TEST_NO_THREAD", "MINET_TEST_NO_MEMSTREAM"):
            for args, want in parse_expected(os.path.join(BAD, "expected.txt")):
                with self.subTest(knob=knob, args=" ".join(args)):
                    p = subprocess.run([MINET] + full_args(args), cwd=BAD, capture_output=True, text=True,
                                       env=dict(env, **{knob: "1"}), timeout=120)
                    self.assertEqual((p.returncode, p.stdout, p.stderr.splitlines()), (2, "", want))

    def test_messages_name_file_and_path(self):
        # Every line of a file's errors starts with "FILE: " and (except whole-file errors) a JSON path.
        whole_file = ("empty file", "line ", "expected a JSON object", "file is ", "this is ")
        for args, want in parse_expected(os.path.join(BAD, "expected.txt")):
            for line in want:
                with self.subTest(line=line):
                    fname, _, rest = line.partition(": ")
                    self.assertTrue(fname.endswith(".json") or fname == "--vnet", line)
                    if fname.endswith(".json") and not rest.startswith(whole_file):
                        self.assertRegex(rest, r"^[A-Za-z]+(\[\d+\])?([.][A-Za-z]+(\[\d+\])?)*: ", line)

    def test_spec_example_line(self):
        # issue 2's example, at the same index.
        d = tempdir(self)
        f = d.write("nsg.json", nsg([rule("a", 100), rule("b", 110), rule("c", 120), rule("d", 50)]))
        p = run(["flow", "--vnet", "10.0.0.0/16", "--nsg", "nsg.json"] + FLOW, cwd=d.path)
        self.assertEqual(p.stderr, "nsg.json: properties.securityRules[3].properties.priority: 50 is outside 100-4096\n")
        self.assertEqual(p.returncode, 2)

    def test_good_files_load(self):
        p = run(["flow", "--tags", "tags.json", "--vnet", "10.0.0.0/16", "--nsg", "nsg.json", "--json"] + FLOW,
                cwd=GOOD)
        self.assertEqual((p.returncode, p.stderr), (1, ""))
        self.assertEqual(json.loads(p.stdout)["rule"], "deny_all_inbound")


class TestGenerated(unittest.TestCase):
    def setUp(self):
        self.d = tempdir(self)

    def check(self, args, want):
        p = run(args, cwd=self.d.path)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.splitlines(), want)

    def flow(self, nsgfile, tags=()):
        a = ["flow"]
        for t in tags:
            a += ["--tags", t]
        return a + ["--vnet", "10.0.0.0/16", "--nsg", nsgfile] + FLOW

    def route(self, rtfile, tags=()):
        a = ["route"]
        for t in tags:
            a += ["--tags", t]
        return a + ["--vnet", "10.0.0.0/16", "--routes", rtfile, "--dst", "1.1.1.1"]

    def test_1000_rules_ok_1001_not(self):
        rules = [rule("r%d" % i, 100 + i // 2, "Inbound" if i % 2 else "Outbound") for i in range(1001)]
        self.d.write("ok.json", nsg(rules[:1000]))
        p = run(self.flow("ok.json"), cwd=self.d.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.d.write("big.json", nsg(rules))
        self.check(self.flow("big.json"), ["big.json: properties.securityRules: 1001 rules; an NSG holds at most 1000"])
        # ... and the other errors of the same file are still reported.
        rules[7]["properties"]["priority"] = 5000
        self.d.write("big2.json", nsg(rules))
        self.check(self.flow("big2.json"), [
            "big2.json: properties.securityRules: 1001 rules; an NSG holds at most 1000",
            "big2.json: properties.securityRules[7].properties.priority: 5000 is outside 100-4096"])

    def test_4000_addresses_per_side(self):
        def src_rule(i, n):
            return rule("r%d" % i, 100 + i, sourceAddressPrefix=None,
                        sourceAddressPrefixes=["10.%d.%d.0/24" % (i, k) for k in range(n)])
        self.d.write("ok.json", nsg([src_rule(i, 200) for i in range(20)]))  # exactly 4000
        self.assertEqual(run(self.flow("ok.json"), cwd=self.d.path).returncode, 1)
        self.d.write("src.json", nsg([src_rule(i, 200) for i in range(20)] + [src_rule(20, 1)]))
        self.check(self.flow("src.json"), ["src.json: properties.securityRules: 4001 source addresses and ranges; an "
                                           "NSG allows at most 4000 per side"])
        dst = [rule("d%d" % i, 100 + i, destinationAddressPrefix=None,
                    destinationAddressPrefixes=["192.168.%d.%d" % (i, k) for k in range(250)]) for i in range(17)]
        self.d.write("dst.json", nsg(dst))
        self.check(self.flow("dst.json"), ["dst.json: properties.securityRules: 4250 destination addresses and "
                                           "ranges; an NSG allows at most 4000 per side"])

    def test_400_routes(self):
        routes = [("r%d" % i, {"addressPrefix": "10.%d.%d.0/24" % (i // 256, i % 256), "nextHopType": "Internet"})
                  for i in range(401)]
        self.d.write("ok.json", rt(routes[:400]))
        self.assertEqual(run(self.route("ok.json"), cwd=self.d.path).returncode, 0)
        self.d.write("big.json", rt(routes))
        self.check(self.route("big.json"), ["big.json: properties.routes: 401 routes; a route table holds at most 400"])

    def test_25_tag_routes(self):
        self.d.write("t.json", tags_doc([("T%02d" % i, ["192.0.%d.0/24" % i]) for i in range(30)]))
        routes = [("r%d" % i, {"addressPrefix": "T%02d" % i, "nextHopType": "Internet"}) for i in range(27)]
        self.d.write("ok.json", rt(routes[:25]))
        p = run(self.route("ok.json", ["t.json"]), cwd=self.d.path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.d.write("big.json", rt(routes))
        self.check(self.route("big.json", ["t.json"]),
                   ["big.json: properties.routes[25]: more than 25 routes with service tags in one route table"])

    def test_50mb_files(self):
        with open(os.path.join(self.d.path, "huge.json"), "w") as f:
            f.write('{"name": "x", "properties": {"securityRules": [')
            f.write(" " * (50 << 20))
            f.write("]}}")
        size = os.path.getsize(os.path.join(self.d.path, "huge.json"))
        msg = "huge.json: file is %d bytes; at most 16 MiB are accepted for this kind of file" % size
        self.check(self.flow("huge.json"), [msg])
        self.check(self.route("huge.json"), [msg])
        # Service Tags files may be bigger (64 MB); this one parses but is not one.
        self.check(["route", "--tags", "huge.json", "--vnet", "10.0.0.0/16", "--dst", "1.1.1.1"],
                   ["huge.json: values: missing: not a Service Tags file"])


class TestOutOfMemory(unittest.TestCase):
    """Memory that runs out is said as such, once a file, and nothing else: never a syntax error at a made-up place
    (jansson names one when its allocations fail), never a page of the same line, never an abort or a crash (a C++
    container throwing std::bad_alloc under -fno-exceptions; a simdjson parser reused after it failed to allocate;
    a thread_local destructor registered when memory is gone). Sweeps of address-space limits (prlimit --as) meet
    it in every reader of a run: the tags file (quick reader and jsonin), the files read on the second thread, the
    models built after."""

    def sweep(self, tagsfile, files, limits_kib):
        args = ["flow", "--tags", tagsfile, "--vnet", "10.0.0.0/16"]
        for opt, f in files.items():
            args += [opt, f]
        self.sweep_args(args + FLOW, [tagsfile] + list(files.values()), limits_kib)

    def sweep_args(self, args, names, limits_kib, env=None):
        """Run minet ARGS under each limit: an answer (exit 0 or 1), or exit 2 with nothing but "NAME: [PATH: ]out
        of memory" lines, at most one a name."""
        line = re.compile(r"^(%s): ([^ ]+: )?(cannot read: )?out of memory$" % "|".join(re.escape(n) for n in names))
        seen = {"ok": 0, "oom": 0}
        for kib in limits_kib:
            p = subprocess.run(["prlimit", "--as=%d" % (kib << 10), MINET] + args, capture_output=True,
                               text=True, timeout=120, env=env)
            with self.subTest(args=" ".join(os.path.basename(a) for a in args[:4]), kib=kib):
                if p.returncode in (0, 1):
                    seen["ok"] += 1
                    continue
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertEqual(p.stdout, "")
                lines = p.stderr.splitlines()
                self.assertTrue(1 <= len(lines) <= len(names), lines)
                for ln in lines:
                    self.assertRegex(ln, line)
                seen["oom"] += 1
        self.assertGreater(seen["oom"], 0, "no limit was low enough to run out: the sweep proved nothing")
        self.assertGreater(seen["ok"], 0, "no limit was high enough to answer")

    def setUp(self):
        probe = subprocess.run(["prlimit", "--as=%d" % (300 << 20), MINET, "--help"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("this build cannot run in 300 MB of address space (AddressSanitizer reserves terabytes)")
        self.d = tempdir(self)
        self.nsg = self.d.write("nsg.json", nsg([rule("r%d" % i, 100 + i,
                                                      sourceAddressPrefix="198.18.%d.0/24" % (i % 256),
                                                      destinationPortRange=str(1000 + i)) for i in range(1000)]))
        self.rt = self.d.write("rt.json", rt([("r%d" % i, {"addressPrefix": "198.19.%d.0/24" % i,
                                                            "nextHopType": "Internet"}) for i in range(250)]))

    def test_published_tags_and_an_nsg(self):
        tags = self.d.path + "/tags.json"
        with gzip.open(TAGS_2025, "rb") as src, open(tags, "wb") as dst:
            shutil.copyfileobj(src, dst)
        for tagsfile in (tags, TAGS_2025):
            self.sweep(tagsfile, {"--nsg": self.nsg}, range(20 << 10, 200 << 10, 10 << 10))

    def test_small_tags_and_three_files_on_the_second_thread(self):
        self.sweep(os.path.join(GOOD, "tags.json"), {"--routes": self.rt, "--nsg": self.nsg, "--nic-nsg": self.nsg},
                   range(16 << 10, 100 << 10, 2 << 10))

    def test_estate(self):
        """verify --estate: its values are read by worker threads (az's pages, a bare array) through jsonfast, and
        jansson names a made-up place when its allocations fail: main said "line 18446744073709551615, column 1"
        (an unsigned wrap of jansson's -1) or "invalid token near '"5022"'" for text that is well formed."""
        corpnet = os.path.join(ROOT, "examples", "corpnet-tags.json")
        env = dict(os.environ, MINET_NOW="2025-11-01")
        for fmt in ("pages", "array"):
            est = os.path.join(self.d.path, "estate-%s.json" % fmt)
            g = subprocess.run([os.path.join(ROOT, "scripts", "gen-estate"), "--subnets", "200", "--seed", "5",
                                "--format", fmt, est], capture_output=True, text=True)
            self.assertEqual(g.returncode, 0, g.stderr)
            self.sweep_args(["verify", "--estate", est, "--tags", TAGS_2025, "--tags", corpnet, "--json"],
                            [est, TAGS_2025, corpnet, "minet verify"], range(20 << 10, 200 << 10, 6 << 10), env)


class TestAllocationFailures(unittest.TestCase):
    """Allocations made to fail by a preloaded malloc: every one from the Nth on (memory gone), or the Nth alone (a
    large request refused, the next ones granted); with and without the short run's region (cli/heap.h). A run
    answers exactly as with memory (exit code, stdout, and no stderr), or exits 2 with nothing on stdout and only
    "...: out of memory" lines; never a signal, never a document with a part missing. main crashed on verify --json
    and --sarif (puts of NULL), printed SARIF results without their location and with a key's closing quote missing
    (jansson leaves some of its writes unchecked), cut an estate's SARIF off mid-document (json_dumpf), and aborted
    in jsonloc (std::bad_alloc under -fno-exceptions)."""

    def setUp(self):
        self.d = tempdir(self)
        self.shim = os.path.join(self.d.path, "failmalloc.so")
        subprocess.run(["cc", "-shared", "-fPIC", "-o", self.shim, self.d.write("failmalloc.c", FAILMALLOC)],
                       check=True)
        self.env = dict(os.environ, LD_PRELOAD=self.shim, MINET_NOW="2025-11-01")
        if subprocess.run([MINET, "--version"], env=self.env, capture_output=True).returncode != 0:
            self.skipTest("this build does not run with a preloaded malloc (AddressSanitizer wants to come first)")
        # the C++ runtime allocates before main, where nothing can be said: the sweeps begin after it
        self.start = next(n for n in range(64) if subprocess.run(
            [MINET, "--version"], env=dict(self.env, FAIL_AT=str(n)), capture_output=True).returncode == 0)

    def sweep(self, args, samples=40):
        ref = subprocess.run([MINET] + args, env=self.env, capture_output=True, text=True, timeout=120)
        self.assertIn(ref.returncode, (0, 1), ref.stderr)
        self.assertEqual(ref.stderr, "")
        seen = {"answer": 0, "oom": 0}
        for big in (False, True):
            env = dict(self.env, NO_BIG_MMAP="1") if big else self.env
            c = subprocess.run([MINET] + args, env=dict(env, FAIL_COUNT="1"), capture_output=True, text=True)
            total = int(c.stderr.split()[-1])
            step = max(1, (total - self.start) // samples)
            points = sorted(set(range(self.start, total, step)) | set(range(max(self.start, total - 10), total)))
            for only in (False, True):
                for n in points:
                    e = dict(env, FAIL_AT=str(n), **({"FAIL_ONLY": "1"} if only else {}))
                    p = subprocess.run([MINET] + args, env=e, capture_output=True, text=True, timeout=120)
                    with self.subTest(args=" ".join(args[:2]), region=not big, only=only, n=n):
                        if p.returncode == 2:
                            self.assertEqual(p.stdout, "")
                            lines = p.stderr.splitlines()
                            self.assertTrue(lines)
                            for ln in lines:
                                self.assertTrue(ln.endswith(": out of memory"), ln)
                            seen["oom"] += 1
                        else:
                            self.assertEqual((p.returncode, p.stdout, p.stderr), (ref.returncode, ref.stdout, ""))
                            seen["answer"] += 1
        self.assertGreater(seen["oom"], 0)
        self.assertGreater(seen["answer"], 0)

    def test_verify_sarif_effective(self):
        eff = os.path.join(FIXTURES, "effective")
        self.sweep(["verify", "--tags", TAGS_2025, "--tags", os.path.join(ROOT, "examples", "corpnet-tags.json"),
                    "--vnet", "10.0.0.0/16", "--subnet", "10.0.0.0/24", "--region", "westeurope", "--pair",
                    "northeurope", "--nsg", os.path.join(eff, "NetworkInterfaceEffectiveNSGList.json"), "--routes",
                    os.path.join(eff, "NetworkInterfaceEffectiveRouteTableList.json"), "--sarif"])

    def test_verify_json(self):
        ex = os.path.join(ROOT, "examples")
        self.sweep(["verify", "--tags", TAGS_2025, "--tags", os.path.join(ex, "corpnet-tags.json"), "--vnet",
                    "10.0.0.0/16", "--subnet", "10.0.0.0/24", "--region", "westeurope", "--pair", "northeurope",
                    "--nsg", os.path.join(ex, "mi-nsg.json"), "--routes", os.path.join(ex, "mi-routes.json"),
                    "--json"])

    def test_flow_json_arm_template(self):
        arm = os.path.join(FIXTURES, "arm")
        self.sweep(["flow", "--tags", TAGS_2025, "--vnet", "10.0.0.0/16", "--nsg",
                    os.path.join(arm, "mi-new-vnet.json"), "--parameters",
                    os.path.join(arm, "mi-new-vnet.parameters.json"), "--json"] + FLOW)

    def test_route_json_effective(self):
        self.sweep(["route", "--tags", TAGS_2025, "--routes",
                    os.path.join(FIXTURES, "effective", "NetworkInterfaceEffectiveRouteTableList.json"),
                    "--dst", "13.66.0.1", "--json"])

    def test_estate_sarif(self):
        est = os.path.join(self.d.path, "estate.json")
        subprocess.run([os.path.join(ROOT, "scripts", "gen-estate"), "--subnets", "20", "--seed", "5", est],
                       capture_output=True, check=True)
        self.sweep(["verify", "--estate", est, "--tags", TAGS_2025, "--tags",
                    os.path.join(ROOT, "examples", "corpnet-tags.json"), "--sarif", "--threads", "1"])


if __name__ == "__main__":
    unittest.main()

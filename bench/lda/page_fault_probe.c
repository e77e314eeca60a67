/* What a first touch of fresh anonymous memory costs on this machine, with and without
 * transparent huge pages (mimalloc madvises its arenas MADV_HUGEPAGE). On the build VM a
 * fresh 2 MB page costs either ~0.2 ms or ~3 ms depending on the run, which is what makes
 * single `lda-train` runs bimodal (bench/lda/RESULTS.md, session 13).
 *
 *   cc -O2 bench/lda/page_fault_probe.c -o /tmp/page_fault_probe
 *   /tmp/page_fault_probe 1   # huge pages
 *   /tmp/page_fault_probe 0   # 4 KB pages
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const size_t huge = 2u << 20, n = 64u << 20;
    int use_huge = argc > 1 ? atoi(argv[1]) : 1;
    char *raw = mmap(NULL, n + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    /* 2 MB-aligned, so every huge page is whole. */
    char *p = (char *)(((size_t)raw + huge - 1) & ~(huge - 1));
    if (use_huge && madvise(p, n, MADV_HUGEPAGE) != 0)
        perror("madvise(MADV_HUGEPAGE)");
    double start = now(), worst = 0;
    for (size_t i = 0; i < n; i += 4096) {
        double t = now();
        p[i] = 1;
        t = now() - t;
        if (t > worst)
            worst = t;
    }
    double first = now() - start;
    start = now();
    for (size_t i = 0; i < n; i += 64)
        p[i] = 2;
    double second = now() - start;
    printf("huge pages %s: first touch of 64 MB %.2f ms (%.3f ms per 2 MB, slowest single "
           "touch %.3f ms); second touch %.2f ms\n",
           use_huge ? "on" : "off", first * 1e3, first * 1e3 / (n / huge), worst * 1e3,
           second * 1e3);
    return 0;
}

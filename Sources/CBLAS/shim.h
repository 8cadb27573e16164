#include <cblas.h>
/* OpenBLAS extensions for thread control and the kernel name (declared in cblas.h). */

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* The widest SIMD level that both the CPU and the operating system support, for choosing OpenBLAS kernels:
   0 = SSE only, 1 = AVX, 2 = AVX2 with FMA, 3 = AVX-512 (F, CD, BW, DQ, VL, with the OS saving ZMM state).
   Always 0 on other architectures. */
static inline int explaind_cpu_simd_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
    if (!osxsave || !avx) return 0;
    unsigned int xcr0_lo = 0, xcr0_hi = 0;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0x6) != 0x6) return 0; /* XMM and YMM state */
    unsigned int maxLeaf = __get_cpuid_max(0, 0);
    if (maxLeaf < 7) return 1;
    unsigned int a7 = 0, b7 = 0, c7 = 0, d7 = 0;
    __cpuid_count(7, 0, a7, b7, c7, d7);
    const int avx2 = (b7 >> 5) & 1;
    if (!(avx2 && fma)) return 1;
    const unsigned int avx512Mask = (1u << 16) | (1u << 17) | (1u << 28) | (1u << 30) | (1u << 31); /* F DQ CD BW VL */
    if ((b7 & avx512Mask) == avx512Mask && (xcr0_lo & 0xe0) == 0xe0) return 3; /* opmask, ZMM_Hi256, Hi16_ZMM */
    return 2;
#else
    return 0;
#endif
}

/* 1 when the CPU vendor string is "AuthenticAMD" or "HygonGenuine". */
static inline int explaind_cpu_is_amd(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163)   /* AuthenticAMD */
        || (ebx == 0x6f677948 && edx == 0x6e65476e && ecx == 0x656e6975);  /* HygonGenuine */
#else
    return 0;
#endif
}

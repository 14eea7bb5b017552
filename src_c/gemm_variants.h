/* gemm_variants.h -- the gemm family: fastnn's own register-blocked kernels for small
 * row-major products, one variant per instruction set and dtype, behind one table each.
 *
 * OpenBLAS's small-matrix kernels spend much of a mini-batch product on call overhead and
 * packing; for batches of tens of rows these kernels run 1.5-3x faster (measured against
 * SciPy's OpenBLAS on the MNIST training shapes). The variants are generated from one
 * template by src_c/tools/gen_gemm.py into src_c/arch/<isa>/gemm_{f32,f64}.c;
 * fnn_sgemm_pick() (float32) and fnn_dgemm_pick() (float64) return the best one the CPU
 * runs (cpu.h), or NULL: then BLAS does the work. fnn_gemm_fits() is the one statement of
 * which products they take, in either dtype.
 */
#ifndef FNN_GEMM_VARIANTS_H
#define FNN_GEMM_VARIANTS_H

#include "cpu.h"
#include "fnn_common.h"

/* Columns per chunk of pack_active's masks: (k + FNN_GEMM_MASK_COLS - 1) / FNN_GEMM_MASK_COLS
 * entries of scratch, whichever variant runs. */
#define FNN_GEMM_MASK_COLS 16

/* Largest batch dimension (the rows of C for A B and A B^T, the inner dimension for A^T B)
 * of a product the kernels take: above it BLAS's packing pays for itself. */
#define FNN_GEMM_MAX_ROWS 64
/* Elements of a transposed B that may go on the stack (A B^T: a layer's dX = G W^T). */
#define FNN_GEMM_MAX_BT 2048

typedef struct {
    const char *name; /* "avx512", "avx2" (the two fields of fnn_variant_head, cpu.h) */
    int isa;          /* enum fnn_isa it needs */
    /* C (m x n) = A (m x k) B (k x n), or C += A B with accumulate; contiguous row-major. */
    void (*nn)(int m, int k, int n, const float *A, const float *B, float *C, int accumulate);
    /* C (k x n) = A^T G with A (m x k) and G (m x n) contiguous row-major (C overwritten). */
    void (*tn)(int m, int k, int n, const float *A, const float *G, float *C);
    /* The same for the first k columns of A, whose rows are lda >= k floats apart: a block
     * of C's rows (columns of A) on its own, as a team splits the product. Each entry of C
     * is summed in the same order whatever k and lda, so the blocks equal the whole. */
    void (*tn_ld)(int m, int k, int n, const float *A, int lda, const float *G, float *C);
    /* Sparse input batches (MNIST pixels are 80 % zeros; in a batch of 10 rows about half
     * the columns are zero in every row). A column that is zero in every row of the batch
     * adds nothing to X W and leaves its row of X^T G zero, so the first layer's products
     * can run over the batch's active columns only:
     *
     * pack_active: rows[i] (i < m) point at the m input rows of k floats (in any order:
     *   the plan passes rows of X in shuffled order, so nothing is gathered). Writes the
     *   columns that are nonzero (or NaN) in at least one row to xc (m x nact, row-major),
     *   their indices in increasing order to cols[0 .. nact), the other indices to
     *   zcols[0 .. k - nact) (each holds k entries: the entries past those counts are
     *   scratch); masks is scratch (FNN_GEMM_MASK_COLS). Returns nact.
     * nn_cols: C (m x n) = xc B[cols, :]  (+ C with accumulate); B is (k x n).
     * tn_cols: rows cols[j] of C (k x n) = alpha * xc[:, j]^T G (+ C[cols[j]] with
     *   accumulate), xc having ldx >= nact columns (a slice of the packed batch); without
     *   accumulate the rows zcols[0 .. nzero) of C are set to 0, so C = alpha X^T G
     *   exactly; with accumulate and alpha = -lr it is the SGD step W -= lr X^T G. */
    int (*pack_active)(int m, int k, const float *const *rows, float *xc, int *cols,
                       int *zcols, unsigned short *masks);
    void (*nn_cols)(int m, int nact, int n, const float *xc, const int *cols, const float *B,
                    float *C, int accumulate);
    void (*tn_cols)(int m, int nact, int n, const float *xc, int ldx, const int *cols,
                    int nzero, const int *zcols, const float *G, float *C, float alpha,
                    int accumulate);
} fnn_sgemm_variant;

/* The float64 variants: the same entries and contracts, in double. */
typedef struct {
    const char *name; /* "avx512", "avx2", "neon" */
    int isa;
    void (*nn)(int m, int k, int n, const double *A, const double *B, double *C, int accumulate);
    void (*tn)(int m, int k, int n, const double *A, const double *G, double *C);
    void (*tn_ld)(int m, int k, int n, const double *A, int lda, const double *G, double *C);
    int (*pack_active)(int m, int k, const double *const *rows, double *xc, int *cols,
                       int *zcols, unsigned short *masks);
    void (*nn_cols)(int m, int nact, int n, const double *xc, const int *cols, const double *B,
                    double *C, int accumulate);
    void (*tn_cols)(int m, int nact, int n, const double *xc, int ldx, const int *cols,
                    int nzero, const int *zcols, const double *G, double *C, double alpha,
                    int accumulate);
} fnn_dgemm_variant;

/* Every variant compiled into this build, best first; *count gets their number. */
const fnn_sgemm_variant *const *fnn_sgemm_variants(int *count);
const fnn_dgemm_variant *const *fnn_dgemm_variants(int *count);

/* The variant for this CPU at the level in force, or NULL (BLAS): FASTNN_GEMM=blas, or
 * no compiled variant runs here. */
const fnn_sgemm_variant *fnn_sgemm_pick(void);
const fnn_dgemm_variant *fnn_dgemm_pick(void);

/* The variant named `name` if it is compiled and this CPU can run it (whatever the level
 * in force), else NULL: for the tests, which run every variant the CPU can execute. */
const fnn_sgemm_variant *fnn_sgemm_by_name(const char *name);
const fnn_dgemm_variant *fnn_dgemm_by_name(const char *name);

/* Largest inner dimension of a product of one or two rows (single-sample inference) that
 * runs on the active columns (pack_active + nn_cols): xc, cols and zcols go on the stack. */
#define FNN_GEMM_ROWS_MAX_K 2048

/* Whether the kernels take the product op(A) (m x k) op(B) (k x n), alpha 1, beta 0 or 1
 * (see fnn_gemm_team in matmul.h): 1 for A B, 2 for A B^T through a transposed B on the
 * stack, 3 for A^T B, 4 for A B of one or two rows of A (at most FNN_SMALL_M), over the
 * columns of A that are nonzero (pack_active, then nn_cols: the rows of B that a zero
 * input would multiply are never read); 0: BLAS. */
int fnn_gemm_fits(int ta, int tb, fnn_idx m, fnn_idx n, fnn_idx k, double alpha, double beta);

#endif

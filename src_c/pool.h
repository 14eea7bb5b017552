/* pool.h -- max and average pooling (channels first), global average pooling, and the
 * average over time of a sequence (channels last).
 *
 * x (n, C, H, W) -> y (n, C, OH, OW) over windows of g->kh x g->kw with stride
 * g->sh x g->sw, no padding, no dilation (g->pt = g->pl = 0, g->dh = g->dw = 1,
 * g->f = g->c): OH = (H - KH) / sh + 1. A 1-D pool is the case H = KH = 1.
 *
 * Max pooling records, per output element, the flat index (h * W + w) within its input
 * plane of the first maximum in row-major window order; backward adds dy there
 * (windows may overlap when the stride is below the window). A NaN in a window is
 * propagated: it is the maximum.
 */
#ifndef FNN_POOL_H
#define FNN_POOL_H

#include "conv.h"

void fnn_maxpool_forward_f32(const fnn_conv_geom *g, fnn_idx n, const float *x, float *y,
                             fnn_idx *argmax, int n_threads);
void fnn_maxpool_forward_f64(const fnn_conv_geom *g, fnn_idx n, const double *x, double *y,
                             fnn_idx *argmax, int n_threads);

/* dx (n, C, H, W) is overwritten: zero except where argmax points (dy added there, in
 * output order). Only g->c, h, w, oh, ow are read; argmax must lie in [0, H * W). */
void fnn_maxpool_backward_f32(const fnn_conv_geom *g, fnn_idx n, const float *dy,
                              const fnn_idx *argmax, float *dx, int n_threads);
void fnn_maxpool_backward_f64(const fnn_conv_geom *g, fnn_idx n, const double *dy,
                              const fnn_idx *argmax, double *dx, int n_threads);

void fnn_avgpool_forward_f32(const fnn_conv_geom *g, fnn_idx n, const float *x, float *y,
                             int n_threads);
void fnn_avgpool_forward_f64(const fnn_conv_geom *g, fnn_idx n, const double *x, double *y,
                             int n_threads);

/* dx overwritten: each dy spread evenly over its window (added where windows overlap). */
void fnn_avgpool_backward_f32(const fnn_conv_geom *g, fnn_idx n, const float *dy, float *dx,
                              int n_threads);
void fnn_avgpool_backward_f64(const fnn_conv_geom *g, fnn_idx n, const double *dy,
                              double *dx, int n_threads);

/* Global average: x (rows, s) -> y (rows) with rows = n * C and s the spatial size;
 * the sum is accumulated in double. Backward: dx[r, j] = dy[r] / s. */
void fnn_global_avgpool_forward_f32(fnn_idx rows, fnn_idx s, const float *x, float *y,
                                    int n_threads);
void fnn_global_avgpool_forward_f64(fnn_idx rows, fnn_idx s, const double *x, double *y,
                                    int n_threads);
void fnn_global_avgpool_backward_f32(fnn_idx rows, fnn_idx s, const float *dy, float *dx,
                                     int n_threads);
void fnn_global_avgpool_backward_f64(fnn_idx rows, fnn_idx s, const double *dy, double *dx,
                                     int n_threads);

/* Average over time (channels last): x (n, t, f) -> y (n, f), y[i, j] the mean over the
 * t steps of x[i, :, j], summed in double step by step (step 0 first). Backward:
 * dx[i, s, j] = dy[i, j] / t (divided in double), dx (n, t, f) overwritten. */
void fnn_time_avgpool_forward_f32(fnn_idx n, fnn_idx t, fnn_idx f, const float *x, float *y,
                                  int n_threads);
void fnn_time_avgpool_forward_f64(fnn_idx n, fnn_idx t, fnn_idx f, const double *x,
                                  double *y, int n_threads);
void fnn_time_avgpool_backward_f32(fnn_idx n, fnn_idx t, fnn_idx f, const float *dy,
                                   float *dx, int n_threads);
void fnn_time_avgpool_backward_f64(fnn_idx n, fnn_idx t, fnn_idx f, const double *dy,
                                   double *dx, int n_threads);

#endif

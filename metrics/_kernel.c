/*
 * metrics._kernel: the compiled alignment kernel (see docs/speed.md).
 *
 * Three functions, each the exact counterpart of pure-Python code that stays the fallback:
 *
 *   fill(src, tgt, hashes, unique, columns, src_index, tgt_index, lo, hi, block, window) -> int
 *       metrics.alignment._fill_scalar: the band lo <= b - a <= hi of the cumulative cost
 *       table, cell by cell, with ChERRANT's transposition search, into the caller's arrays
 *       `block` (float64, (n+1) x (hi-lo+3), stored by diagonal) and `window` (uint16 or
 *       uint32, same shape). Returns 1 when the final cell is exact, 0 when not, -1 on a hash
 *       collision inside a band (the caller then fills the whole block).
 *
 *   paths(block, window, unique, columns, src_index, tgt_index, src, tgt, lo, prefix, first_only,
 *         limit) -> [(a, b, steps)] | None
 *       metrics.alignment.cheapest_paths' depth-first walk (AlignmentTable.ops at each cell),
 *       inside the block: each path up to the cell where it leaves the block, with its steps to
 *       the end; None past `limit` paths or on an inexact table (Python walks those).
 *
 *   char_costs(src_facts, tgt_facts, attributes, reading_offsets, readings, char_ids,
 *              confusion_offsets, confusion, scratch, table, out) -> None
 *       metrics.cost.SubstitutionCost's char-level matrix (_spelled_alike + _cost_block):
 *       the cost of every (distinct source token, distinct target token) pair, picked from
 *       `table` (CHAR_COSTS) by the same index.
 *
 * Every float operation that decides a cost is the Python kernel's (same operands, same
 * order), so ties under exact float equality come out the same; tests/test_kernel_*.py
 * compares the two cell by cell. Arrays come in through the buffer protocol: no numpy C API,
 * so the extension builds against CPython alone.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Buffers */

typedef struct {
    Py_buffer view;
    int held;
    int64_t *copy; /* an int sequence that is not an int64 buffer, copied */
} IntInput;

static int is_int_format(const char *format, Py_ssize_t itemsize, Py_ssize_t wanted)
{
    if (itemsize != wanted || format == NULL)
        return 0;
    const char *f = format;
    if (*f == '<' || *f == '=' || *f == '@' || *f == '!' || *f == '>')
        f++;
    return strchr("bBhHiIlLqQnN", *f) != NULL && f[1] == '\0';
}

/* A read-only int64 array from an int64 buffer, or a copy of any sequence of ints. */
static int int_input(PyObject *obj, IntInput *in, const int64_t **data, Py_ssize_t *length)
{
    in->held = 0;
    in->copy = NULL;
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, &in->view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            return -1;
        in->held = 1;
        if (is_int_format(in->view.format, in->view.itemsize, 8)) {
            *data = (const int64_t *)in->view.buf;
            *length = in->view.len / 8;
            return 0;
        }
        PyBuffer_Release(&in->view);
        in->held = 0;
    }
    PyObject *seq = PySequence_Fast(obj, "expected a sequence of ints");
    if (seq == NULL)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    in->copy = (int64_t *)malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (in->copy == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t k = 0; k < count; k++) {
        long long value = PyLong_AsLongLong(items[k]);
        if (value == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        in->copy[k] = (int64_t)value;
    }
    Py_DECREF(seq);
    *data = in->copy;
    *length = count;
    return 0;
}

static void int_release(IntInput *in)
{
    if (in->held)
        PyBuffer_Release(&in->view);
    free(in->copy);
    in->held = 0;
    in->copy = NULL;
}

/* A C-contiguous buffer of items of `itemsize` bytes, of kind 'f' (float) or 'i' (int). */
static int typed_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize, char kind,
                        const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    int ok;
    if (kind == 'f') {
        const char *f = view->format;
        if (*f == '<' || *f == '=' || *f == '@')
            f++;
        ok = view->itemsize == itemsize && *f == 'd' && f[1] == '\0';
    } else {
        ok = is_int_format(view->format, view->itemsize, itemsize);
    }
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous array of %zd-byte %s", name, itemsize,
                     kind == 'f' ? "floats" : "ints");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* The fill */

typedef struct {
    const int64_t *src, *tgt;
    Py_ssize_t n, m, lo, width;
    int banded;
    double *block;
    void *window;
    int wide; /* window items are uint32 (else uint16) */
    int64_t *sort_a, *sort_b; /* scratch for multiset checks, min(n, m) + 1 items each */
} Fill;

static inline Py_ssize_t window_get(const Fill *f, Py_ssize_t index)
{
    return f->wide ? (Py_ssize_t)((uint32_t *)f->window)[index] : (Py_ssize_t)((uint16_t *)f->window)[index];
}

static inline void window_set(Fill *f, Py_ssize_t index, Py_ssize_t value)
{
    if (f->wide)
        ((uint32_t *)f->window)[index] = (uint32_t)value;
    else
        ((uint16_t *)f->window)[index] = (uint16_t)value;
}

static int compare_ids(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* src[i-k..i] and tgt[j-k..j] are equal multisets (`_same_multiset`). */
static int same_multiset(Fill *f, Py_ssize_t i, Py_ssize_t j, Py_ssize_t k)
{
    if (k == 1)
        return f->src[i] == f->tgt[j - 1] && f->src[i - 1] == f->tgt[j];
    size_t count = (size_t)k + 1;
    memcpy(f->sort_a, f->src + i - k, count * sizeof(int64_t));
    memcpy(f->sort_b, f->tgt + j - k, count * sizeof(int64_t));
    qsort(f->sort_a, count, sizeof(int64_t), compare_ids);
    qsort(f->sort_b, count, sizeof(int64_t), compare_ids);
    return memcmp(f->sort_a, f->sort_b, count * sizeof(int64_t)) == 0;
}

static inline double cell(const Fill *f, Py_ssize_t x, Py_ssize_t y)
{
    return f->block[x * f->width + (y - x - f->lo + 1)];
}

/* ChERRANT's plain search at token pair (i, j) (`_search_window`), after a collision. */
static Py_ssize_t search_window(Fill *f, Py_ssize_t i, Py_ssize_t j)
{
    for (Py_ssize_t k = 1; i - k >= 0 && j - k >= 0 && cell(f, i - k + 1, j - k + 1) != cell(f, i - k, j - k); k++) {
        if (same_multiset(f, i, j, k))
            return k;
    }
    return 0;
}

enum { FOUND_NONE = 0, FOUND_EXACT = 1, FOUND_BOUND = 2, FOUND_COLLISION = -1 };

/* `_WindowSearch.find`: the transposition candidate of token pair (i, j) with raw window k. */
static int find(Fill *f, Py_ssize_t i, Py_ssize_t j, Py_ssize_t k, double *candidate)
{
    Py_ssize_t slot = j - i - f->lo + 1, width = f->width;
    int unsure = 0;
    for (Py_ssize_t step = 1; step <= k; step++) {
        double node = f->block[(i - step + 1) * width + slot], previous = f->block[(i - step) * width + slot];
        if (node < 0 || previous < 0)
            unsure = 1;
        else if (node == previous)
            return FOUND_NONE;
    }
    if (!same_multiset(f, i, j, k)) {
        if (f->banded)
            return FOUND_COLLISION;
        k = search_window(f, i, j);
        if (!k)
            return FOUND_NONE;
    }
    double start = f->block[(i - k) * width + slot];
    if (unsure || start < 0) {
        *candidate = fabs(start) + (double)k;
        return FOUND_BOUND;
    }
    window_set(f, (i + 1) * width + slot, k);
    *candidate = start + (double)k;
    return FOUND_EXACT;
}

/* Raw windows (`_raw_windows`): per diagonal, the nearest earlier node with the same multiset
 * hash, by an open-addressing table cleared per diagonal with a generation stamp. */
static int raw_windows(Fill *f, const int64_t *hashes, Py_ssize_t hi)
{
    Py_ssize_t n = f->n, m = f->m, lo = f->lo, width = f->width;
    int64_t *ps = (int64_t *)malloc(sizeof(int64_t) * (size_t)(n + 1));
    int64_t *pt = (int64_t *)malloc(sizeof(int64_t) * (size_t)(m + 1));
    Py_ssize_t longest = (n < m ? n : m) + 1;
    size_t capacity = 16;
    while (capacity < 2 * (size_t)longest)
        capacity <<= 1;
    int64_t *keys = (int64_t *)malloc(sizeof(int64_t) * capacity);
    Py_ssize_t *rows = (Py_ssize_t *)malloc(sizeof(Py_ssize_t) * capacity);
    uint32_t *stamps = (uint32_t *)calloc(capacity, sizeof(uint32_t));
    if (!ps || !pt || !keys || !rows || !stamps) {
        free(ps), free(pt), free(keys), free(rows), free(stamps);
        PyErr_NoMemory();
        return -1;
    }
    ps[0] = pt[0] = 0;
    for (Py_ssize_t a = 0; a < n; a++)
        ps[a + 1] = (int64_t)((uint64_t)ps[a] + (uint64_t)hashes[f->src[a]]);
    for (Py_ssize_t b = 0; b < m; b++)
        pt[b + 1] = (int64_t)((uint64_t)pt[b] + (uint64_t)hashes[f->tgt[b]]);
    uint32_t stamp = 0;
    size_t mask = capacity - 1;
    for (Py_ssize_t offset = lo; offset <= hi; offset++) {
        stamp++;
        Py_ssize_t column = offset - lo + 1;
        Py_ssize_t first = offset < 0 ? -offset : 0, last = n < m - offset ? n : m - offset;
        for (Py_ssize_t a = first; a <= last; a++) {
            int64_t key = (int64_t)((uint64_t)ps[a] - (uint64_t)pt[a + offset]);
            size_t h = (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ULL) >> 20) & mask;
            while (stamps[h] == stamp && keys[h] != key)
                h = (h + 1) & mask;
            if (stamps[h] == stamp) {
                Py_ssize_t found = rows[h];
                if (found < a - 1)
                    window_set(f, a * width + column, a - 1 - found);
            } else {
                stamps[h] = stamp;
                keys[h] = key;
            }
            rows[h] = a;
        }
    }
    free(ps), free(pt), free(keys), free(rows), free(stamps);
    return 0;
}

/* Row a's cells, ChERRANT's recurrence (`_fill_scalar`'s loops). Returns -1 on a collision.
 * One function for both loops of the Python kernel (the band test is per cell here): it is
 * the inner loop of the whole scorer, kept in one piece so the compiler sees all of it. */
static int fill_row(Fill *f, Py_ssize_t a, Py_ssize_t first, Py_ssize_t last, Py_ssize_t j0,
                    const double *costs_row, const int64_t *tgt_index)
{
    Py_ssize_t i = a - 1, width = f->width;
    double *row = f->block + a * width, *previous = row - width;
    int64_t sid = f->src[i];
    double left = row[first - 1], candidate;
    for (Py_ssize_t c = first; c <= last; c++) {
        Py_ssize_t j = j0 + c - first, index = a * width + c;
        double diagonal = previous[c], upper = previous[c + 1];
        Py_ssize_t k = window_get(f, index);
        if (k)
            window_set(f, index, 0);
        if (f->tgt[j] == sid) {
            left = diagonal;
        } else if (!f->banded || (diagonal >= 0 && upper >= 0 && left >= 0)) {
            double value = diagonal + costs_row[tgt_index[j]];
            candidate = upper + 1;
            if (candidate < value)
                value = candidate;
            candidate = left + 1;
            if (candidate < value)
                value = candidate;
            if (k) {
                int found = find(f, i, j, k, &candidate);
                if (found == FOUND_COLLISION)
                    return -1;
                if (found == FOUND_EXACT)
                    value = candidate < value ? candidate : value;
                else if (found == FOUND_BOUND)
                    value = value < candidate ? value : -candidate;
            }
            left = value;
        } else { /* a tainted input: exact candidates against lower bounds (stored negated) */
            double substitution = costs_row[tgt_index[j]], exact, bound;
            if (diagonal >= 0)
                exact = diagonal + substitution, bound = INFINITY;
            else
                exact = INFINITY, bound = substitution - diagonal;
            if (upper >= 0) {
                candidate = upper + 1;
                if (candidate < exact)
                    exact = candidate;
            } else if (1 - upper < bound) {
                bound = 1 - upper;
            }
            if (left >= 0) {
                candidate = left + 1;
                if (candidate < exact)
                    exact = candidate;
            } else if (1 - left < bound) {
                bound = 1 - left;
            }
            if (k) {
                int found = find(f, i, j, k, &candidate);
                if (found == FOUND_COLLISION)
                    return -1;
                if (found == FOUND_EXACT)
                    exact = candidate < exact ? candidate : exact;
                else if (found == FOUND_BOUND)
                    bound = candidate < bound ? candidate : bound;
            }
            left = exact < bound ? exact : -bound;
        }
        row[c] = left;
    }
    return 0;
}

/* The whole fill; returns the number of rows filled, or -1 on a collision. */
static Py_ssize_t fill_block(Fill *f, Py_ssize_t hi, const double *unique, Py_ssize_t columns,
                             const int64_t *src_index, const int64_t *tgt_index)
{
    Py_ssize_t n = f->n, m = f->m, lo = f->lo, width = f->width;
    double *block = f->block;
    for (Py_ssize_t c = 0; c < width; c++) {
        Py_ssize_t offset = lo - 1 + c;
        block[c] = (0 <= offset && offset <= m) ? (double)offset : -(double)(offset < 0 ? -offset : offset);
    }
    for (Py_ssize_t a = 1; a <= n; a++) {
        Py_ssize_t first = a + lo < 1 ? 2 - a - lo : 1;
        Py_ssize_t last = a + hi > m ? m - a - lo + 1 : hi - lo + 1;
        Py_ssize_t j0 = a + lo - 2 + first;
        double *row = block + a * width;
        for (Py_ssize_t c = 0; c < width; c++) {
            if (c < first || c > last) {
                Py_ssize_t offset = lo - 1 + c;
                row[c] = -(double)(offset < 0 ? -offset : offset);
            }
        }
        if (!j0)
            row[first - 1] = (double)a; /* the boundary cell (a, 0) */
        if (fill_row(f, a, first, last, j0, unique + src_index[a - 1] * columns, tgt_index) < 0)
            return -1;
        if (f->banded && !(a & 7) && j0) { /* a whole row tainted: so is every later cell */
            int tainted = 1;
            for (Py_ssize_t c = 0; c < width && tainted; c++)
                tainted = row[c] < 0;
            if (tainted)
                return a + 1;
        }
    }
    return n + 1;
}

static PyObject *kernel_fill(PyObject *self, PyObject *args)
{
    PyObject *src_obj, *tgt_obj, *hashes_obj, *unique_obj, *src_index_obj, *tgt_index_obj, *block_obj, *window_obj;
    Py_ssize_t lo, hi, columns;
    if (!PyArg_ParseTuple(args, "OOOOnOOnnOO", &src_obj, &tgt_obj, &hashes_obj, &unique_obj, &columns,
                          &src_index_obj, &tgt_index_obj, &lo, &hi, &block_obj, &window_obj))
        return NULL;
    IntInput src_in, tgt_in, hashes_in, src_index_in, tgt_index_in;
    const int64_t *src, *tgt, *hashes, *src_index, *tgt_index;
    Py_ssize_t n, m, hash_count, src_index_count, tgt_index_count;
    Py_buffer unique_view, block_view, window_view;
    int got = 0; /* how many inputs are held, for the cleanup */
    PyObject *result = NULL;
    Fill f;
    f.sort_a = f.sort_b = NULL;
    if (int_input(src_obj, &src_in, &src, &n) < 0) goto done;
    got = 1;
    if (int_input(tgt_obj, &tgt_in, &tgt, &m) < 0) goto done;
    got = 2;
    if (int_input(hashes_obj, &hashes_in, &hashes, &hash_count) < 0) goto done;
    got = 3;
    if (int_input(src_index_obj, &src_index_in, &src_index, &src_index_count) < 0) goto done;
    got = 4;
    if (int_input(tgt_index_obj, &tgt_index_in, &tgt_index, &tgt_index_count) < 0) goto done;
    got = 5;
    if (typed_buffer(unique_obj, &unique_view, 0, 8, 'f', "unique") < 0) goto done;
    got = 6;
    if (typed_buffer(block_obj, &block_view, 1, 8, 'f', "block") < 0) goto done;
    got = 7;
    if (PyObject_GetBuffer(window_obj, &window_view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        goto done;
    got = 8;
    Py_ssize_t width = hi - lo + 3;
    if (n < 1 || m < 1 || lo < -n || hi > m || lo > hi || columns < 1 || src_index_count != n ||
        tgt_index_count != m || block_view.len != (n + 1) * width * 8 ||
        !(is_int_format(window_view.format, window_view.itemsize, 2) ||
          is_int_format(window_view.format, window_view.itemsize, 4)) ||
        window_view.len != (n + 1) * width * window_view.itemsize) {
        PyErr_SetString(PyExc_ValueError, "fill: inconsistent sizes");
        goto done;
    }
    Py_ssize_t rows_of_unique = unique_view.len / 8 / columns;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (src[k] < 0 || src[k] >= hash_count || src_index[k] < 0 || src_index[k] >= rows_of_unique) {
            PyErr_SetString(PyExc_ValueError, "fill: token id or index out of range");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < m; k++) {
        if (tgt[k] < 0 || tgt[k] >= hash_count || tgt_index[k] < 0 || tgt_index[k] >= columns) {
            PyErr_SetString(PyExc_ValueError, "fill: token id or index out of range");
            goto done;
        }
    }
    f.src = src, f.tgt = tgt, f.n = n, f.m = m, f.lo = lo, f.width = width;
    f.banded = !(lo == -n && hi == m);
    f.block = (double *)block_view.buf;
    f.window = window_view.buf;
    f.wide = window_view.itemsize == 4;
    Py_ssize_t shortest = (n < m ? n : m) + 1;
    f.sort_a = (int64_t *)malloc(sizeof(int64_t) * (size_t)shortest);
    f.sort_b = (int64_t *)malloc(sizeof(int64_t) * (size_t)shortest);
    if (!f.sort_a || !f.sort_b) {
        PyErr_NoMemory();
        goto done;
    }
    memset(f.window, 0, (size_t)window_view.len);
    if (raw_windows(&f, hashes, hi) < 0)
        goto done;
    Py_ssize_t filled = fill_block(&f, hi, (const double *)unique_view.buf, columns, src_index, tgt_index);
    if (filled < 0) {
        result = PyLong_FromLong(-1);
        goto done;
    }
    int exact = filled == n + 1 && f.block[n * width + (m - n - lo + 1)] >= 0;
    /* rows not reached stay unknown; raw windows left there are cleared */
    memset((char *)f.window + filled * width * window_view.itemsize, 0,
           (size_t)((n + 1 - filled) * width * window_view.itemsize));
    for (Py_ssize_t k = 0; k < filled * width; k++) {
        if (f.block[k] < 0)
            f.block[k] = INFINITY;
    }
    for (Py_ssize_t k = filled * width; k < (n + 1) * width; k++)
        f.block[k] = INFINITY;
    result = PyLong_FromLong(exact);
done:
    free(f.sort_a);
    free(f.sort_b);
    if (got >= 8) PyBuffer_Release(&window_view);
    if (got >= 7) PyBuffer_Release(&block_view);
    if (got >= 6) PyBuffer_Release(&unique_view);
    if (got >= 5) int_release(&tgt_index_in);
    if (got >= 4) int_release(&src_index_in);
    if (got >= 3) int_release(&hashes_in);
    if (got >= 2) int_release(&tgt_in);
    if (got >= 1) int_release(&src_in);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* The backtrace */

enum { OP_M, OP_S, OP_I, OP_D, OP_T };

typedef struct {
    const double *block;
    const void *window;
    int wide;
    const double *unique;
    Py_ssize_t columns;
    const int64_t *src_index, *tgt_index, *src, *tgt;
    Py_ssize_t n, m, lo, width, prefix;
} Table;

typedef struct {
    Py_ssize_t a, b; /* block coordinates */
    int ops[4], count, next;
    Py_ssize_t k; /* the window of the cell's T op */
} Frame;

typedef struct {
    int op;
    Py_ssize_t k, a, b; /* the op taken at block cell (a, b) */
} Taken;

static double table_cell(const Table *t, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t slot = b - a - t->lo + 1;
    if (a < 0 || a > t->n || slot < 0 || slot >= t->width)
        return INFINITY;
    return t->block[a * t->width + slot];
}

/* AlignmentTable.ops of a cell inside the block (a, b >= 1), in the order [T, S, I, D]. */
static void cell_ops(const Table *t, Frame *frame)
{
    Py_ssize_t a = frame->a, b = frame->b, i = a - 1, j = b - 1;
    frame->count = frame->next = 0;
    frame->k = 0;
    if (t->src[i] == t->tgt[j]) {
        frame->ops[frame->count++] = OP_M;
        return;
    }
    double value = table_cell(t, a, b);
    Py_ssize_t slot = b - a - t->lo + 1;
    Py_ssize_t k = t->wide ? (Py_ssize_t)((const uint32_t *)t->window)[a * t->width + slot]
                           : (Py_ssize_t)((const uint16_t *)t->window)[a * t->width + slot];
    if (k && table_cell(t, a - 1 - k, b - 1 - k) + (double)k == value) {
        frame->ops[frame->count++] = OP_T;
        frame->k = k;
    }
    if (table_cell(t, a - 1, b - 1) + t->unique[t->src_index[i] * t->columns + t->tgt_index[j]] == value)
        frame->ops[frame->count++] = OP_S;
    if (table_cell(t, a, b - 1) + 1 == value)
        frame->ops[frame->count++] = OP_I;
    if (table_cell(t, a - 1, b) + 1 == value)
        frame->ops[frame->count++] = OP_D;
}

/* The step of op `taken` in DP coordinates, as cheapest_paths writes it. */
static PyObject *step_tuple(const Table *t, const Taken *taken, PyObject **names)
{
    Py_ssize_t a = taken->a + t->prefix, b = taken->b + t->prefix, da = 1, db = 1;
    PyObject *name;
    if (taken->op == OP_T) {
        da = db = taken->k + 1;
        name = PyUnicode_FromFormat("T%zd", taken->k + 1);
        if (name == NULL)
            return NULL;
    } else {
        name = names[taken->op];
        Py_INCREF(name);
        if (taken->op == OP_D)
            db = 0;
        else if (taken->op == OP_I)
            da = 0;
    }
    return Py_BuildValue("(Nnnnn)", name, a - da, a, b - db, b);
}

/* One path found: (a, b, steps) with (a, b) the DP cell it reached, steps in forward order. */
static int emit(const Table *t, const Taken *taken, Py_ssize_t depth, Py_ssize_t a, Py_ssize_t b,
                PyObject **names, PyObject *out)
{
    PyObject *steps = PyList_New(depth);
    if (steps == NULL)
        return -1;
    for (Py_ssize_t q = 0; q < depth; q++) {
        PyObject *step = step_tuple(t, &taken[depth - 1 - q], names);
        if (step == NULL) {
            Py_DECREF(steps);
            return -1;
        }
        PyList_SET_ITEM(steps, q, step);
    }
    PyObject *entry = Py_BuildValue("(nnN)", a + t->prefix, b + t->prefix, steps);
    if (entry == NULL)
        return -1;
    int failed = PyList_Append(out, entry);
    Py_DECREF(entry);
    return failed;
}

/* Depth first from (n, m) as cheapest_paths does, inside the block; a path leaving it is
 * emitted where it leaves. Returns the paths, or -2 past `limit` of them. */
static int walk(const Table *t, int first_only, Py_ssize_t limit, PyObject **names, PyObject *out)
{
    Py_ssize_t capacity = t->n + t->m + 2, depth, found = 0;
    Frame *frames = (Frame *)malloc(sizeof(Frame) * (size_t)capacity);
    Taken *taken = (Taken *)malloc(sizeof(Taken) * (size_t)capacity);
    if (!frames || !taken) {
        free(frames), free(taken);
        PyErr_NoMemory();
        return -1;
    }
    int status = 0;
    frames[0].a = t->n, frames[0].b = t->m;
    cell_ops(t, &frames[0]);
    Py_ssize_t level = 0; /* frames in use - 1 */
    while (level >= 0) {
        Frame *frame = &frames[level];
        int allowed = first_only && frame->count > 1 ? 1 : frame->count;
        if (frame->next >= allowed) {
            level--;
            continue;
        }
        int op = frame->ops[frame->next++];
        Py_ssize_t da = op == OP_I ? 0 : op == OP_T ? frame->k + 1 : 1;
        Py_ssize_t db = op == OP_D ? 0 : op == OP_T ? frame->k + 1 : 1;
        taken[level] = (Taken){op, frame->k, frame->a, frame->b};
        depth = level + 1;
        Py_ssize_t a = frame->a - da, b = frame->b - db;
        if (a <= 0 || b <= 0) {
            if (++found > limit) {
                status = -2;
                break;
            }
            if (emit(t, taken, depth, a, b, names, out) < 0) {
                status = -1;
                break;
            }
            continue;
        }
        Frame *next = &frames[++level];
        next->a = a, next->b = b;
        cell_ops(t, next);
    }
    free(frames), free(taken);
    return status;
}

static PyObject *kernel_paths(PyObject *self, PyObject *args)
{
    PyObject *block_obj, *window_obj, *unique_obj, *src_index_obj, *tgt_index_obj, *src_obj, *tgt_obj;
    Py_ssize_t columns, lo, prefix, limit;
    int first_only;
    if (!PyArg_ParseTuple(args, "OOOnOOOOnnpn", &block_obj, &window_obj, &unique_obj, &columns, &src_index_obj,
                          &tgt_index_obj, &src_obj, &tgt_obj, &lo, &prefix, &first_only, &limit))
        return NULL;
    static PyObject *names[4] = {NULL, NULL, NULL, NULL};
    static const char *texts[4] = {"M", "S", "I", "D"};
    for (int k = 0; k < 4; k++) {
        if (names[k] == NULL && (names[k] = PyUnicode_InternFromString(texts[k])) == NULL)
            return NULL;
    }
    IntInput ins[4];
    const int64_t *arrays[4];
    Py_ssize_t counts[4];
    PyObject *objects[4] = {src_index_obj, tgt_index_obj, src_obj, tgt_obj};
    Py_buffer block_view, window_view, unique_view;
    int got = 0;
    PyObject *result = NULL, *out = NULL;
    for (; got < 4; got++) {
        if (int_input(objects[got], &ins[got], &arrays[got], &counts[got]) < 0)
            goto done;
    }
    if (typed_buffer(block_obj, &block_view, 0, 8, 'f', "block") < 0) goto done;
    got = 5;
    if (typed_buffer(unique_obj, &unique_view, 0, 8, 'f', "unique") < 0) goto done;
    got = 6;
    if (PyObject_GetBuffer(window_obj, &window_view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto done;
    got = 7;
    Table t = {(const double *)block_view.buf, window_view.buf, window_view.itemsize == 4,
               (const double *)unique_view.buf, columns, arrays[0], arrays[1], arrays[2], arrays[3],
               counts[2], counts[3], lo, 0, prefix};
    t.width = t.n >= 0 ? block_view.len / 8 / (t.n + 1) : 0;
    int consistent = t.n >= 1 && t.m >= 1 && counts[0] == t.n && counts[1] == t.m && columns >= 1 &&
                     t.width >= 3 && block_view.len == (t.n + 1) * t.width * 8 && lo >= -t.n &&
                     lo + t.width - 3 <= t.m && window_view.len == (t.n + 1) * t.width * window_view.itemsize &&
                     (window_view.itemsize == 2 || window_view.itemsize == 4);
    for (Py_ssize_t k = 0; consistent && k < t.n; k++)
        consistent = arrays[0][k] >= 0 && arrays[0][k] < unique_view.len / 8 / columns;
    for (Py_ssize_t k = 0; consistent && k < t.m; k++)
        consistent = arrays[1][k] >= 0 && arrays[1][k] < columns;
    if (!consistent) {
        PyErr_SetString(PyExc_ValueError, "paths: inconsistent sizes");
        goto done;
    }
    if (!isfinite(table_cell(&t, t.n, t.m))) { /* not an exact table: the Python backtrace decides */
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    int status = walk(&t, first_only, limit, names, out);
    if (status == -2) {
        Py_INCREF(Py_None);
        result = Py_None;
    } else if (status == 0) {
        result = out;
        out = NULL;
    }
done:
    Py_XDECREF(out);
    if (got >= 7) PyBuffer_Release(&window_view);
    if (got >= 6) PyBuffer_Release(&unique_view);
    if (got >= 5) PyBuffer_Release(&block_view);
    for (int k = 0; k < (got < 4 ? got : 4); k++)
        int_release(&ins[k]);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* The char-level substitution costs */

enum { CODE0, CODE1, CODE2, UNKNOWN, CHINESE, PUNCTUATION, ATTRIBUTES };

typedef struct {
    const int32_t *attributes, *reading_offsets, *readings, *char_ids, *confusion_offsets, *confusion;
    Py_ssize_t facts, chars, confusion_count, reading_count;
    int32_t *scratch;
} Facts;

static int readings_meet(const Facts *t, int32_t x, int32_t y)
{
    for (int32_t p = t->reading_offsets[x]; p < t->reading_offsets[x + 1]; p++)
        for (int32_t q = t->reading_offsets[y]; q < t->reading_offsets[y + 1]; q++)
            if (t->readings[p] == t->readings[q])
                return 1;
    return 0;
}

/* Marks alike[i][j] for pairs where one side's character is in the other's confusion set:
 * `scratch` maps the `inner` side's char ids to their positions (then restored to -1). */
static void mark_confusable(const Facts *t, const int64_t *outer, Py_ssize_t outer_count, const int64_t *inner,
                            Py_ssize_t inner_count, unsigned char *alike, int outer_is_src, Py_ssize_t columns)
{
    for (Py_ssize_t q = 0; q < inner_count; q++)
        if (t->attributes[inner[q] * ATTRIBUTES + CHINESE])
            t->scratch[t->char_ids[inner[q]]] = (int32_t)q;
    for (Py_ssize_t p = 0; p < outer_count; p++) {
        int64_t x = outer[p];
        if (!t->attributes[x * ATTRIBUTES + CHINESE])
            continue;
        for (int32_t r = t->confusion_offsets[x]; r < t->confusion_offsets[x + 1]; r++) {
            int32_t c = t->confusion[r];
            int32_t q = c >= 0 && c < t->chars ? t->scratch[c] : -1;
            if (q >= 0)
                alike[outer_is_src ? p * columns + q : q * columns + p] = 1;
        }
    }
    for (Py_ssize_t q = 0; q < inner_count; q++)
        if (t->attributes[inner[q] * ATTRIBUTES + CHINESE])
            t->scratch[t->char_ids[inner[q]]] = -1;
}

static int check_facts(const Facts *t, const int64_t *ids, Py_ssize_t count)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        int64_t x = ids[k];
        if (x < 0 || x >= t->facts || t->char_ids[x] < 0 || t->char_ids[x] >= t->chars ||
            t->confusion_offsets[x] < 0 || t->confusion_offsets[x + 1] > t->confusion_count ||
            t->reading_offsets[x] < 0 || t->reading_offsets[x + 1] > t->reading_count) {
            PyErr_SetString(PyExc_ValueError, "char_costs: fact id out of range");
            return -1;
        }
    }
    return 0;
}

typedef struct {
    int32_t code[3], unknown, chinese, punctuation;
    uint64_t readings; /* a Bloom mask of the reading ids: disjoint masks, no reading shared */
} Attributes;

static void gather(const Facts *t, const int64_t *ids, Py_ssize_t count, Attributes *out)
{
    for (Py_ssize_t p = 0; p < count; p++) {
        const int32_t *row = t->attributes + ids[p] * ATTRIBUTES;
        Attributes *a = &out[p];
        a->code[0] = row[CODE0], a->code[1] = row[CODE1], a->code[2] = row[CODE2];
        a->unknown = row[UNKNOWN], a->chinese = row[CHINESE], a->punctuation = row[PUNCTUATION];
        a->readings = 0;
        for (int32_t r = t->reading_offsets[ids[p]]; r < t->reading_offsets[ids[p] + 1]; r++)
            a->readings |= (uint64_t)1 << (t->readings[r] & 63);
    }
}

static void char_cost_matrix(const Facts *t, const int64_t *src, Py_ssize_t rows, const int64_t *tgt,
                             Py_ssize_t columns, const double *table, double *out, unsigned char *alike,
                             Attributes *attributes)
{
    Attributes *x = attributes, *y = attributes + rows;
    gather(t, src, rows, x);
    gather(t, tgt, columns, y);
    mark_confusable(t, src, rows, tgt, columns, alike, 1, columns);
    mark_confusable(t, tgt, columns, src, rows, alike, 0, columns);
    for (Py_ssize_t p = 0; p < rows; p++) {
        const Attributes *a = &x[p];
        for (Py_ssize_t q = 0; q < columns; q++) {
            const Attributes *b = &y[q];
            int state = a->punctuation + b->punctuation + ((a->unknown || b->unknown) ? 24 : 0) +
                        6 * ((a->code[0] == b->code[0]) + (a->code[1] == b->code[1]) + (a->code[2] == b->code[2]));
            int similar = alike[p * columns + q] ||
                          (a->chinese && b->chinese && (a->readings & b->readings) &&
                           readings_meet(t, (int32_t)src[p], (int32_t)tgt[q]));
            out[p * columns + q] = table[state + (similar ? 3 : 0)];
        }
    }
}

static PyObject *kernel_char_costs(PyObject *self, PyObject *args)
{
    PyObject *objects[11];
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOO", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &objects[5], &objects[6], &objects[7], &objects[8], &objects[9], &objects[10]))
        return NULL;
    IntInput src_in, tgt_in;
    const int64_t *src, *tgt;
    Py_ssize_t rows, columns;
    Py_buffer views[9];
    static const char *names[9] = {"attributes", "reading_offsets", "readings", "char_ids", "confusion_offsets",
                                   "confusion", "scratch", "table", "out"};
    int got_ints = 0, got_views = 0;
    PyObject *result = NULL;
    unsigned char *alike = NULL;
    Attributes *attributes = NULL;
    if (int_input(objects[0], &src_in, &src, &rows) < 0) goto done;
    got_ints = 1;
    if (int_input(objects[1], &tgt_in, &tgt, &columns) < 0) goto done;
    got_ints = 2;
    for (int k = 0; k < 9; k++) {
        int writable = k == 6 || k == 8;
        int floats = k >= 7;
        if (typed_buffer(objects[k + 2], &views[k], writable, floats ? 8 : 4, floats ? 'f' : 'i', names[k]) < 0)
            goto done;
        got_views = k + 1;
    }
    Facts t;
    t.attributes = (const int32_t *)views[0].buf;
    t.reading_offsets = (const int32_t *)views[1].buf;
    t.readings = (const int32_t *)views[2].buf;
    t.char_ids = (const int32_t *)views[3].buf;
    t.confusion_offsets = (const int32_t *)views[4].buf;
    t.confusion = (const int32_t *)views[5].buf;
    t.scratch = (int32_t *)views[6].buf;
    t.facts = views[3].len / 4;
    t.chars = views[6].len / 4;
    t.reading_count = views[2].len / 4;
    t.confusion_count = views[5].len / 4;
    if (views[0].len / 4 < t.facts * ATTRIBUTES || views[1].len / 4 < t.facts + 1 ||
        views[4].len / 4 < t.facts + 1 || views[7].len / 8 < 48 || views[8].len / 8 != rows * columns) {
        PyErr_SetString(PyExc_ValueError, "char_costs: inconsistent sizes");
        goto done;
    }
    if (check_facts(&t, src, rows) < 0 || check_facts(&t, tgt, columns) < 0)
        goto done;
    alike = (unsigned char *)calloc((size_t)(rows * columns > 0 ? rows * columns : 1), 1);
    attributes = (Attributes *)malloc(sizeof(Attributes) * (size_t)(rows + columns + 1));
    if (alike == NULL || attributes == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    char_cost_matrix(&t, src, rows, tgt, columns, (const double *)views[7].buf, (double *)views[8].buf, alike,
                     attributes);
    Py_INCREF(Py_None);
    result = Py_None;
done:
    free(alike);
    free(attributes);
    for (int k = 0; k < got_views; k++)
        PyBuffer_Release(&views[k]);
    if (got_ints >= 2) int_release(&tgt_in);
    if (got_ints >= 1) int_release(&src_in);
    return result;
}

static PyMethodDef kernel_methods[] = {
    {"fill", kernel_fill, METH_VARARGS,
     "fill(src, tgt, hashes, unique, columns, src_index, tgt_index, lo, hi, block, window) -> 1 exact, 0 not, "
     "-1 collision: metrics.alignment._fill_scalar into the given arrays."},
    {"paths", kernel_paths, METH_VARARGS,
     "paths(block, window, unique, columns, src_index, tgt_index, src, tgt, lo, prefix, first_only, limit) -> "
     "[(a, b, steps)] or None: cheapest_paths' depth-first walk inside the block."},
    {"char_costs", kernel_char_costs, METH_VARARGS,
     "char_costs(src_facts, tgt_facts, attributes, reading_offsets, readings, char_ids, confusion_offsets, "
     "confusion, scratch, table, out): the char-level substitution costs of distinct token pairs."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT, "metrics._kernel", "The compiled alignment kernel (see docs/speed.md).", -1,
    kernel_methods,
};

PyMODINIT_FUNC PyInit__kernel(void)
{
    return PyModule_Create(&kernel_module);
}

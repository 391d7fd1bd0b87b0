/*
 * metrics._thulac: THULAC 0.2.2's character tagger in C (see docs/speed.md).
 *
 * Four functions, each the exact counterpart of THULAC's own pure-Python code (the first two
 * also of metrics/zh/thulac_fast.py's numpy versions, the fallback):
 *
 *   values(sequence, dat, dat_size, weights, l_size) -> bytes
 *       CBNGramFeature.putValues: the score of every (character, label) pair, the sum of the
 *       weights of the character's 7 n-gram features found in the double-array trie `dat`
 *       (int32 pairs base/check), as length x l_size native int64s.
 *
 *   viterbi(values, length, l_size, transitions, pre, width, allowed, types) -> ({node: label}, best)
 *       AlphaBeta.dbDecode: the best label path through the allowed labels of each character,
 *       `transitions` (int64, l_size x l_size) and the predecessor label lists `pre` (int64,
 *       l_size x width, -1 padded); `allowed` is THULAC's list of label lists (each ends at -1 or
 *       at its end), `types` the node types (1 first, 2 last, 3 both).
 *
 *   dat_info(dat, dat_size, text) -> int, dat_match(dat, dat_size, text) -> int
 *       Dat.getInfo and Dat.match: look-ups in the dictionaries of THULAC's post-processing
 *       (place names, idioms, punctuation), about 140 a sentence.
 *
 * Exactness: scores are integers (int64: 7 int32 weights a character, a path of at most 50,000
 * characters, far from overflow). Ties go where THULAC sends them: to the first predecessor in
 * `pre` order (strict >) and to the first allowed label of the last character (strict <). The
 * trie is read with Python's index rules (a negative index counts from the end, one out of range
 * raises IndexError), as THULAC reads its tuple, so even a malformed model fails the same way.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A C-contiguous buffer of native ints of `itemsize` bytes. */
static int int_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *f = view->format ? view->format : "B";
    if (*f == '<' || *f == '=' || *f == '@')
        f++;
    if (view->itemsize != itemsize || strchr("ilqn", *f) == NULL || f[1] != '\0') {
        PyErr_Format(PyExc_TypeError, "%s: expected a contiguous array of %zd-byte ints", name, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Feature scores */

typedef struct {
    const int32_t *dat; /* base/check pairs */
    Py_ssize_t count;   /* ints in dat */
    int64_t size;       /* THULAC's datSize, the bound of its own checks */
    const int32_t *weights;
    Py_ssize_t weight_count;
    Py_ssize_t l_size;
} Trie;

/* dat[index] with Python's tuple indexing; -1 with IndexError set when out of range. */
static inline int get(const Trie *t, int64_t index, int64_t *out)
{
    if (index < 0)
        index += t->count;
    if (index < 0 || index >= t->count) {
        PyErr_SetString(PyExc_IndexError, "THULAC model: trie index out of range");
        return -1;
    }
    *out = t->dat[index];
    return 0;
}

/* CBNGramFeature.findBases: the unigram and bigram bases of (c1, c2), -1 where absent. */
static int find_bases(const Trie *t, int64_t c1, int64_t c2, int64_t *uni, int64_t *bi)
{
    int64_t check, base, next;
    if (c1 > 32 && c1 < 128)
        c1 += 65248;
    if (c2 > 32 && c2 < 128)
        c2 += 65248;
    *uni = *bi = -1;
    if (c1 >= t->size)
        return 0;
    if (get(t, 2 * c1 + 1, &check) < 0)
        return -1;
    if (2 * check != 0)
        return 0;
    if (get(t, 2 * c1, &base) < 0)
        return -1;
    *uni = base + ' ';
    int64_t ind = base + c2;
    if (ind >= t->size)
        return 0;
    if (get(t, 2 * ind + 1, &check) < 0)
        return -1;
    if (check != c1)
        return 0;
    if (get(t, 2 * ind, &next) < 0)
        return -1;
    *bi = next + ' ';
    return 0;
}

/* CBNGramFeature.addValues: add the weights of feature (base, offset), if the trie has it. */
static int add_values(const Trie *t, int64_t base, int64_t offset, int64_t *row)
{
    int64_t start, check, feature;
    if (get(t, 2 * base, &start) < 0)
        return -1;
    int64_t ind = start + offset;
    if (ind >= t->size)
        return 0;
    if (get(t, 2 * ind + 1, &check) < 0)
        return -1;
    if (check != base)
        return 0;
    if (get(t, 2 * ind, &feature) < 0)
        return -1;
    int64_t first = t->l_size * feature;
    if (first >= 0 && first + t->l_size <= t->weight_count) {
        const int32_t *w = t->weights + first;
        for (Py_ssize_t k = 0; k < t->l_size; k++)
            row[k] += w[k];
        return 0;
    }
    for (Py_ssize_t k = 0; k < t->l_size; k++) { /* Python's indexing of the weights tuple */
        int64_t index = first + k;
        if (index < 0)
            index += t->weight_count;
        if (index < 0 || index >= t->weight_count) {
            PyErr_SetString(PyExc_IndexError, "THULAC model: weight index out of range");
            return -1;
        }
        row[k] += t->weights[index];
    }
    return 0;
}

static int put_values(const Trie *t, const int64_t *codes, Py_ssize_t n, int64_t *uni, int64_t *bi,
                      int64_t *values)
{
    const int64_t edge = '#';
    if (find_bases(t, edge, edge, &uni[0], &bi[0]) < 0 || find_bases(t, edge, codes[0], &uni[0], &bi[1]) < 0)
        return -1;
    for (Py_ssize_t i = 0; i + 1 < n; i++)
        if (find_bases(t, codes[i], codes[i + 1], &uni[i + 1], &bi[i + 2]) < 0)
            return -1;
    if (find_bases(t, codes[n - 1], edge, &uni[n], &bi[n + 1]) < 0 ||
        find_bases(t, edge, edge, &uni[n + 1], &bi[n + 2]) < 0)
        return -1;
    /* putValues' order: unigrams at i+1, i, i+2, bigrams at i+1, i+2, i, i+3 */
    static const int shifts[7] = {1, 0, 2, 1, 2, 0, 3};
    static const int offsets[7] = {49, 50, 51, 49, 50, 51, 52};
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t *row = values + i * t->l_size;
        for (int f = 0; f < 7; f++) {
            int64_t base = (f < 3 ? uni : bi)[i + shifts[f]];
            if (base != -1 && add_values(t, base, offsets[f], row) < 0)
                return -1;
        }
    }
    return 0;
}

static PyObject *thulac_values(PyObject *self, PyObject *args)
{
    PyObject *sequence, *dat_obj, *weights_obj;
    long long dat_size;
    Py_ssize_t l_size;
    if (!PyArg_ParseTuple(args, "UOLOn", &sequence, &dat_obj, &dat_size, &weights_obj, &l_size))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(sequence);
    if (l_size <= 0 || n > PY_SSIZE_T_MAX / 8 / l_size) {
        PyErr_SetString(PyExc_ValueError, "values: bad label count");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)sizeof(int64_t) * n * l_size);
    if (out == NULL || n == 0)
        return out;
    int64_t *values = (int64_t *)PyBytes_AS_STRING(out);
    memset(values, 0, sizeof(int64_t) * (size_t)(n * l_size));
    Py_buffer dat, weights;
    if (int_buffer(dat_obj, &dat, 4, "dat") < 0) {
        Py_DECREF(out);
        return NULL;
    }
    if (int_buffer(weights_obj, &weights, 4, "weights") < 0) {
        PyBuffer_Release(&dat);
        Py_DECREF(out);
        return NULL;
    }
    Trie t = {(const int32_t *)dat.buf, dat.len / 4, dat_size, (const int32_t *)weights.buf, weights.len / 4, l_size};
    int64_t *scratch = (int64_t *)malloc(sizeof(int64_t) * (size_t)(3 * n + 6));
    int failed = scratch == NULL;
    if (failed) {
        PyErr_NoMemory();
    } else {
        int kind = PyUnicode_KIND(sequence);
        const void *data = PyUnicode_DATA(sequence);
        int64_t *codes = scratch, *uni = scratch + n, *bi = scratch + 2 * n + 2;
        for (Py_ssize_t i = 0; i < n; i++)
            codes[i] = PyUnicode_READ(kind, data, i);
        failed = put_values(&t, codes, n, uni, bi, values) < 0;
    }
    free(scratch);
    PyBuffer_Release(&weights);
    PyBuffer_Release(&dat);
    if (failed) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Viterbi */

/* Scores of absent or unreachable labels: so low that every real candidate beats one built on
 * it. Real scores stay far above: check_ranges bounds every weight by 2^36 and the path by 2^22
 * nodes, so a score's magnitude is below 2^59, and NONE + a weight below NONE / 2. */
#define NONE (INT64_MIN / 4)
#define WEIGHT_LIMIT ((int64_t)1 << 36)
#define NODE_LIMIT ((Py_ssize_t)1 << 22)

typedef struct {
    const int64_t *values, *transitions, *pre;
    Py_ssize_t n, l_size, width;
    Py_ssize_t *pre_count; /* per label: its predecessors in `pre` (up to the first -1) */
    int64_t *pre_weight;   /* per label and slot: transitions[pre[j][s]][j] */
    int64_t *score[2];     /* per label, previous and current node: alpha score, or NONE when
                              absent or unreachable (THULAC's nodeId -2) */
    int64_t *back;         /* per node and label: predecessor label, -1 for none */
    int64_t best_score, best_node, best_label;
} Decode;

/* One node of dbDecode: every allowed label's best predecessor and score. */
static void decode_node(Decode *d, Py_ssize_t i, const int64_t *labels, Py_ssize_t count, long type)
{
    Py_ssize_t l = d->l_size;
    const int64_t *prev = d->score[(i + 1) & 1];
    int64_t *cur = d->score[i & 1];
    int first = type == 1 || type == 3; /* its predecessor id is -1: reachable, a path's start */
    for (Py_ssize_t x = 0; x < l; x++)
        cur[x] = NONE;
    for (Py_ssize_t a = 0; a < count; a++) {
        int64_t j = labels[a];
        /* The first usable predecessor, then any strictly better one: THULAC's order. A
         * candidate built on NONE loses to every real one and never reaches NONE / 2. */
        int64_t base = INT64_MIN, pick = 0;
        if (i > 0) { /* nodes[i].predecessors == i - 1 */
            const int64_t *pre = d->pre + j * d->width, *weight = d->pre_weight + j * d->width;
            for (Py_ssize_t s = 0, end = d->pre_count[j]; s < end; s++) {
                int64_t candidate = prev[pre[s]] + weight[s];
                int better = candidate > base; /* branch-free: 1.5 times faster */
                base = better ? candidate : base;
                pick = better ? pre[s] : pick;
            }
        }
        int found = base > NONE / 2;
        int64_t total = (found ? base : 0) + d->values[i * l + j];
        cur[j] = first || found ? total : NONE;
        d->back[i * l + j] = !first && found ? pick : -1;
        if (type >= 2 && (d->best_node == -1 || d->best_score < total)) {
            d->best_score = total;
            d->best_node = i;
            d->best_label = j;
        }
    }
}

/* A node's allowed labels, up to the first -1, checked and converted once per distinct list
 * (THULAC hands the same few lists to every node). */
#define LABEL_LISTS 16

typedef struct {
    PyObject *key;
    int64_t *labels;
    Py_ssize_t count;
} Labels;

static int read_labels(PyObject *obj, Py_ssize_t l, Labels *out)
{
    PyObject *seq = PySequence_Fast(obj, "viterbi: allowed labels must be a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq), a = 0;
    PyObject **items = PySequence_Fast_ITEMS(seq);
    out->key = obj;
    out->labels = (int64_t *)malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (out->labels == NULL)
        PyErr_NoMemory();
    for (; out->labels != NULL && a < count; a++) {
        long long j = PyLong_AsLongLong(items[a]);
        if (j == -1) /* the end of the list, or an error (checked below) */
            break;
        if (j < 0 || j >= l) {
            PyErr_SetString(PyExc_ValueError, "viterbi: label out of range");
            break;
        }
        out->labels[a] = j;
    }
    out->count = a;
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        free(out->labels);
        out->labels = NULL;
        return -1;
    }
    return 0;
}

/* The labels of `obj`: from the cache, or read (into the cache while it has room, else into
 * `spare`, which the caller frees). */
static const Labels *node_labels(Labels *cache, int *used, PyObject *obj, Py_ssize_t l, Labels *spare)
{
    for (int k = 0; k < *used; k++)
        if (cache[k].key == obj)
            return &cache[k];
    Labels *slot = *used < LABEL_LISTS ? &cache[*used] : spare;
    if (read_labels(obj, l, slot) < 0)
        return NULL;
    if (slot != spare)
        (*used)++;
    return slot;
}

/* The path back from the best last label, as THULAC's result dict (last node first). */
static PyObject *backtrace(const Decode *d)
{
    PyObject *result = PyDict_New();
    if (result == NULL)
        return NULL;
    int64_t node = d->best_node, label = d->best_label;
    while (node >= 0) {
        PyObject *key = PyLong_FromLongLong(node), *value = PyLong_FromLongLong(label);
        int failed = key == NULL || value == NULL || PyDict_SetItem(result, key, value) < 0;
        Py_XDECREF(key);
        Py_XDECREF(value);
        if (failed) {
            Py_DECREF(result);
            return NULL;
        }
        int64_t previous = d->back[node * d->l_size + label];
        if (previous < 0)
            break;
        node -= 1;
        label = previous;
    }
    return result;
}

/* Labels in range, weights and path short enough for NONE to stay below every real score; the
 * per-label predecessor counts and weights. */
static int check_ranges(Decode *d)
{
    Py_ssize_t l = d->l_size;
    if (d->n > NODE_LIMIT) {
        PyErr_SetString(PyExc_ValueError, "viterbi: too many nodes");
        return -1;
    }
    for (Py_ssize_t x = 0; x < d->n * l; x++)
        if (d->values[x] <= -WEIGHT_LIMIT || d->values[x] >= WEIGHT_LIMIT) {
            PyErr_SetString(PyExc_ValueError, "viterbi: a value out of range");
            return -1;
        }
    for (Py_ssize_t x = 0; x < l * l; x++)
        if (d->transitions[x] <= -WEIGHT_LIMIT || d->transitions[x] >= WEIGHT_LIMIT) {
            PyErr_SetString(PyExc_ValueError, "viterbi: a transition weight out of range");
            return -1;
        }
    for (Py_ssize_t j = 0; j < l; j++) {
        Py_ssize_t s = 0;
        for (; s < d->width && d->pre[j * d->width + s] != -1; s++) {
            int64_t k = d->pre[j * d->width + s];
            if (k < 0 || k >= l) {
                PyErr_SetString(PyExc_ValueError, "viterbi: predecessor label out of range");
                return -1;
            }
            d->pre_weight[j * d->width + s] = d->transitions[k * l + j];
        }
        d->pre_count[j] = s;
    }
    return 0;
}

static PyObject *run_viterbi(Decode *d, PyObject *allowed, PyObject *types)
{
    PyObject *allowed_seq = PySequence_Fast(allowed, "viterbi: allowed must be a sequence");
    PyObject *types_seq = allowed_seq ? PySequence_Fast(types, "viterbi: types must be a sequence") : NULL;
    PyObject *out = NULL;
    Labels cache[LABEL_LISTS], spare = {NULL, NULL, 0};
    int used = 0;
    if (types_seq == NULL)
        goto done;
    if (PySequence_Fast_GET_SIZE(allowed_seq) < d->n || PySequence_Fast_GET_SIZE(types_seq) < d->n) {
        PyErr_SetString(PyExc_ValueError, "viterbi: fewer allowed lists or types than nodes");
        goto done;
    }
    for (Py_ssize_t i = 0; i < d->n; i++) {
        long type = PyLong_AsLong(PySequence_Fast_GET_ITEM(types_seq, i));
        if (type == -1 && PyErr_Occurred())
            goto done;
        const Labels *labels = node_labels(cache, &used, PySequence_Fast_GET_ITEM(allowed_seq, i), d->l_size, &spare);
        if (labels == NULL)
            goto done;
        decode_node(d, i, labels->labels, labels->count, type);
        if (labels == &spare) {
            free(spare.labels);
            spare.labels = NULL;
        }
    }
    PyObject *result = backtrace(d);
    if (result != NULL)
        out = Py_BuildValue("(NL)", result, (long long)d->best_score);
done:
    for (int k = 0; k < used; k++)
        free(cache[k].labels);
    free(spare.labels);
    Py_XDECREF(types_seq);
    Py_XDECREF(allowed_seq);
    return out;
}

static PyObject *thulac_viterbi(PyObject *self, PyObject *args)
{
    PyObject *values_obj, *transitions_obj, *pre_obj, *allowed, *types;
    Py_ssize_t n, l_size, width;
    if (!PyArg_ParseTuple(args, "OnnOOnOO", &values_obj, &n, &l_size, &transitions_obj, &pre_obj, &width, &allowed,
                          &types))
        return NULL;
    if (n < 0 || l_size <= 0 || width < 0 || n > PY_SSIZE_T_MAX / 8 / l_size) {
        PyErr_SetString(PyExc_ValueError, "viterbi: bad sizes");
        return NULL;
    }
    Py_buffer views[3];
    PyObject *objects[3] = {values_obj, transitions_obj, pre_obj};
    static const char *names[3] = {"values", "transitions", "pre"};
    Py_ssize_t wanted[3] = {n * l_size, l_size * l_size, l_size * width};
    int held = 0;
    PyObject *out = NULL;
    Decode d = {0};
    for (; held < 3; held++) {
        if (int_buffer(objects[held], &views[held], 8, names[held]) < 0)
            goto done;
        if (views[held].len / 8 < wanted[held]) {
            PyErr_Format(PyExc_ValueError, "viterbi: %s is too short", names[held]);
            held++;
            goto done;
        }
    }
    d.values = views[0].buf;
    d.transitions = views[1].buf;
    d.pre = views[2].buf;
    d.n = n;
    d.l_size = l_size;
    d.width = width;
    d.best_node = -1;
    d.score[0] = malloc(sizeof(int64_t) * (size_t)l_size * 2);
    d.back = malloc(sizeof(int64_t) * (size_t)(n ? n * l_size : 1));
    d.pre_count = malloc(sizeof(Py_ssize_t) * (size_t)l_size);
    d.pre_weight = malloc(sizeof(int64_t) * (size_t)(width ? l_size * width : 1));
    if (d.score[0] == NULL || d.back == NULL || d.pre_count == NULL || d.pre_weight == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (check_ranges(&d) < 0)
        goto done;
    d.score[1] = d.score[0] + l_size;
    out = run_viterbi(&d, allowed, types);
done:
    free(d.score[0]);
    free(d.back);
    free(d.pre_count);
    free(d.pre_weight);
    for (int k = 0; k < held; k++)
        PyBuffer_Release(&views[k]);
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Dictionary look-ups (Dat.getInfo, Dat.match) for THULAC's post-processing */

typedef struct {
    Py_buffer view;
    Trie t;
    int kind;
    const void *data;
    Py_ssize_t n;
} Lookup;

static int lookup_open(PyObject *args, Lookup *l)
{
    PyObject *dat_obj, *text;
    long long dat_size;
    if (!PyArg_ParseTuple(args, "OLU", &dat_obj, &dat_size, &text))
        return -1;
    if (int_buffer(dat_obj, &l->view, 4, "dat") < 0)
        return -1;
    Trie t = {(const int32_t *)l->view.buf, l->view.len / 4, dat_size, NULL, 0, 0};
    l->t = t;
    l->kind = PyUnicode_KIND(text);
    l->data = PyUnicode_DATA(text);
    l->n = PyUnicode_GET_LENGTH(text);
    return 0;
}

/* Walk `text` from the root: the number of characters matched before the walk fails (*failed
 * set), else the node reached. -1 with an exception set on an index error. */
static int walk_text(const Lookup *l, int64_t *node, Py_ssize_t *matched, int *failed)
{
    int64_t base = 0, ind = 0, start, check;
    *failed = 0;
    for (Py_ssize_t i = 0; i < l->n; i++) {
        if (get(&l->t, 2 * ind, &start) < 0)
            return -1;
        ind = start + (int64_t)PyUnicode_READ(l->kind, l->data, i);
        if (ind >= l->t.size) {
            *failed = 1;
        } else {
            if (get(&l->t, 2 * ind + 1, &check) < 0)
                return -1;
            *failed = check != base;
        }
        if (*failed) {
            *matched = i;
            return 0;
        }
        base = ind;
    }
    *node = base;
    return 0;
}

static PyObject *thulac_dat_info(PyObject *self, PyObject *args)
{
    Lookup l;
    if (lookup_open(args, &l) < 0)
        return NULL;
    int64_t node = 0;
    Py_ssize_t matched = 0;
    int failed;
    int error = walk_text(&l, &node, &matched, &failed) < 0;
    PyBuffer_Release(&l.view);
    if (error)
        return NULL;
    return PyLong_FromLongLong(failed ? (long long)matched : -(long long)node);
}

static PyObject *thulac_dat_match(PyObject *self, PyObject *args)
{
    Lookup l;
    if (lookup_open(args, &l) < 0)
        return NULL;
    int64_t node = 0, ind, check;
    Py_ssize_t matched;
    int failed;
    long long out = -1;
    int error = walk_text(&l, &node, &matched, &failed) < 0;
    if (!error && !failed) {
        error = get(&l.t, 2 * node, &ind) < 0;
        if (!error && ind < l.t.size) {
            error = get(&l.t, 2 * ind + 1, &check) < 0;
            if (!error && check == node)
                out = ind;
        }
    }
    PyBuffer_Release(&l.view);
    if (error)
        return NULL;
    return PyLong_FromLongLong(out);
}

static PyMethodDef thulac_methods[] = {
    {"values", thulac_values, METH_VARARGS,
     "values(sequence, dat, dat_size, weights, l_size) -> bytes of int64: CBNGramFeature.putValues."},
    {"viterbi", thulac_viterbi, METH_VARARGS,
     "viterbi(values, length, l_size, transitions, pre, width, allowed, types) -> (result, best_score): "
     "AlphaBeta.dbDecode."},
    {"dat_info", thulac_dat_info, METH_VARARGS, "dat_info(dat, dat_size, text) -> int: Dat.getInfo."},
    {"dat_match", thulac_dat_match, METH_VARARGS, "dat_match(dat, dat_size, text) -> int: Dat.match."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef thulac_module = {
    PyModuleDef_HEAD_INIT, "metrics._thulac", "THULAC's character tagger in C (see docs/speed.md).", -1,
    thulac_methods,
};

PyMODINIT_FUNC PyInit__thulac(void)
{
    return PyModule_Create(&thulac_module);
}

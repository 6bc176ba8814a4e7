/* json: parsing of untrusted request bodies and declarative field validation. */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

#define CC_JSON_MAX_DEPTH 16

/* Brackets outside strings, counted before jansson sees the input, so a deeply nested body is
 * refused in linear time without recursion. For valid JSON this equals the real depth. */
static bool depth_ok(const char *p, size_t n)
{
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CC_JSON_MAX_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

/* Second check on the parsed tree, in case the scan and jansson ever disagree. Bounded by
 * the scan above, so the recursion is at most CC_JSON_MAX_DEPTH + 1 deep. */
static int tree_depth(const json_t *v, int limit)
{
    if (limit < 0)
        return 1;
    int max = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child)
        {
            int d = tree_depth(child, limit - 1);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            int d = tree_depth(child, limit - 1);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

json_t *cc_json_parse_object(const char *data, size_t n, size_t max_bytes, const char **why)
{
    const char *reason = NULL;
    json_t *root = NULL;
    json_error_t err;

    if (n > max_bytes) {
        reason = "too large";
        goto out;
    }
    if (n && memchr(data, '\0', n)) {
        reason = "contains a NUL byte";
        goto out;
    }
    if (!depth_ok(data, n)) {
        reason = "nested too deeply";
        goto out;
    }
    root = json_loadb(n ? data : "", n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!root) {
        reason =
            json_error_code(&err) == json_error_duplicate_key ? "duplicate key" : "invalid JSON";
        goto out;
    }
    if (!json_is_object(root)) {
        reason = "not a JSON object";
        goto out;
    }
    if (tree_depth(root, CC_JSON_MAX_DEPTH) > CC_JSON_MAX_DEPTH) {
        reason = "nested too deeply";
        goto out;
    }
out:
    if (reason) {
        json_decref(root);
        root = NULL;
    }
    if (why)
        *why = reason;
    return root;
}

/* Field names in messages come from the client: keep them short and printable so the message
 * is safe to show and to log. */
static void safe_name(const char *in, char out[68])
{
    size_t i = 0;
    for (; i < 64 && in[i]; i++)
        out[i] = (in[i] >= 0x20 && in[i] < 0x7F) ? in[i] : '?';
    if (in[i]) {
        out[i++] = '.';
        out[i++] = '.';
        out[i++] = '.';
    }
    out[i] = '\0';
}

static int check_field(const json_t *v, const cc_json_field *f, char *why, size_t whylen)
{
    switch (f->type) {
    case CC_JSON_STRING: {
        size_t len = json_is_string(v) ? json_string_length(v) : 0;
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        bool ok = s && strlen(s) == len && cc_utf8_valid(s, len) && (int64_t)len >= f->min &&
                  (f->max == 0 || (int64_t)len <= f->max);
        if (ok)
            return CC_OK;
        if (f->max)
            snprintf(why, whylen, "field '%s' must be a string of %lld to %lld bytes", f->name,
                     (long long)f->min, (long long)f->max);
        else
            snprintf(why, whylen, "field '%s' must be a string of at least %lld bytes", f->name,
                     (long long)f->min);
        return CC_ERR_INVALID;
    }
    case CC_JSON_INT: {
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
        if (json_is_integer(v) && x >= f->min && (f->max == 0 || x <= f->max))
            return CC_OK;
        if (f->max)
            snprintf(why, whylen, "field '%s' must be an integer between %lld and %lld", f->name,
                     (long long)f->min, (long long)f->max);
        else
            snprintf(why, whylen, "field '%s' must be an integer of at least %lld", f->name,
                     (long long)f->min);
        return CC_ERR_INVALID;
    }
    case CC_JSON_BOOL:
        if (json_is_boolean(v))
            return CC_OK;
        snprintf(why, whylen, "field '%s' must be a boolean", f->name);
        return CC_ERR_INVALID;
    case CC_JSON_OBJECT:
        if (json_is_object(v))
            return CC_OK;
        snprintf(why, whylen, "field '%s' must be an object", f->name);
        return CC_ERR_INVALID;
    case CC_JSON_ARRAY:
        if (json_is_array(v))
            return CC_OK;
        snprintf(why, whylen, "field '%s' must be an array", f->name);
        return CC_ERR_INVALID;
    }
    snprintf(why, whylen, "field '%s' has an unknown type in the validation table", f->name);
    return CC_ERR_INTERNAL;
}

/* A present null counts as a wrong type even for optional fields: handlers may then read any
 * present field without re-checking its type. */
int cc_json_validate(const json_t *obj, const cc_json_field *fields, size_t n, char *why,
                     size_t whylen)
{
    int rc = CC_OK;
    if (!json_is_object(obj)) {
        snprintf(why, whylen, "body must be a JSON object");
        return CC_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, fields[i].name);
        if (!v) {
            if (fields[i].required) {
                snprintf(why, whylen, "missing field '%s'", fields[i].name);
                return CC_ERR_INVALID;
            }
            continue;
        }
        rc = check_field(v, &fields[i], why, whylen);
        if (rc != CC_OK)
            return rc;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(fields[i].name, key) != 0)
            i++;
        if (i == n) {
            char name[68];
            safe_name(key, name);
            snprintf(why, whylen, "unknown field '%s'", name);
            return CC_ERR_INVALID;
        }
    }
    return CC_OK;
}

/* ---- writer ------------------------------------------------------------------------------ */

/* Strings in jansson values are valid UTF-8 already (checked when they were made), so only the
 * characters JSON requires to escape are looked at. */
/* The length of s's first run of characters that JSON writes as they are. */
static size_t json__plain_run(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\')
        i++;
    return i;
}

static int json__write_string(cc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
    size_t i = json__plain_run(s, n);
    /* The common case, nothing to escape: one append. */
    if (i == n) {
        if (n > SIZE_MAX - 2)
            return CC_ERR_TOO_BIG;
        int rc = cc_buf_reserve(b, n + 2);
        if (rc != CC_OK)
            return rc;
        b->data[b->len] = '"';
        memcpy(b->data + b->len + 1, s, n);
        b->data[b->len + n + 1] = '"';
        b->len += n + 2;
        b->data[b->len] = '\0';
        return CC_OK;
    }
    int rc = cc_buf_append(b, "\"", 1);
    size_t run = 0;
    for (; rc == CC_OK && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > run && (rc = cc_buf_append(b, s + run, i - run)) != CC_OK)
            break;
        run = i + 1;
        /* JSON's two-character escapes, and \u00XX for the other control characters. */
        static const char shortened[] = "\"\\\n\r\t\b\f", letter[] = "\"\\nrtbf";
        const char *k = memchr(shortened, c, sizeof shortened - 1);
        char esc[6] = {'\\', k ? letter[k - shortened] : 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        size_t en = k ? 2 : 6;
        rc = cc_buf_append(b, esc, en);
    }
    if (rc == CC_OK && n > run)
        rc = cc_buf_append(b, s + run, n - run);
    return rc == CC_OK ? cc_buf_append(b, "\"", 1) : rc;
}

/* By hand: vsnprintf costs more than the rest of a small document. */
static int json__write_int(cc_buf *b, int64_t i)
{
    char num[24], *end = num + sizeof(num), *p = end;
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--p = '-';
    return cc_buf_append(b, p, (size_t)(end - p));
}

int cc_json_write(cc_buf *b, const json_t *v)
{
    int rc = CC_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        bool first = true;
        rc = cc_buf_append(b, "{", 1);
        json_object_foreach((json_t *)v, key, val)
        {
            if (rc == CC_OK && !first)
                rc = cc_buf_append(b, ",", 1);
            first = false;
            if (rc == CC_OK)
                rc = json__write_string(b, key, strlen(key));
            if (rc == CC_OK)
                rc = cc_buf_append(b, ":", 1);
            if (rc == CC_OK)
                rc = cc_json_write(b, val);
            if (rc != CC_OK)
                return rc;
        }
        return cc_buf_append(b, "}", 1);
    }
    case JSON_ARRAY: {
        rc = cc_buf_append(b, "[", 1);
        for (size_t i = 0; rc == CC_OK && i < json_array_size(v); i++) {
            if (i)
                rc = cc_buf_append(b, ",", 1);
            if (rc == CC_OK)
                rc = cc_json_write(b, json_array_get(v, i));
        }
        return rc == CC_OK ? cc_buf_append(b, "]", 1) : rc;
    }
    case JSON_STRING:
        return json__write_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return json__write_int(b, json_integer_value(v));
    case JSON_REAL: {
        double d = json_real_value(v);
        if (d != d || d - d != 0)
            return CC_ERR_INVALID;
        char num[32];
        /* Shortest text that reads back as the same double, as jansson writes it. */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(num, sizeof(num), "%.*g", prec, d);
            if (strtod(num, NULL) == d)
                break;
        }
        if (!strpbrk(num, ".eE")) /* keep it a real when read back */
            strcat(num, ".0");
        return cc_buf_append(b, num, strlen(num));
    }
    case JSON_TRUE:
        return cc_buf_append(b, "true", 4);
    case JSON_FALSE:
        return cc_buf_append(b, "false", 5);
    case JSON_NULL:
        return cc_buf_append(b, "null", 4);
    }
    return CC_ERR_INVALID;
}

/* ---- streaming writer ---------------------------------------------------------------------- */

void cc_jw_init(cc_jw *w, cc_buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
    w->first[0] = true;
}

/* The separator and the key before a value. Keys are the program's own names: written in one
 * step when they need no escaping (always, in practice), the careful way otherwise. */
static void jw__prefix(cc_jw *w, const char *key)
{
    if (w->rc != CC_OK)
        return;
    bool comma = !w->first[w->depth];
    w->first[w->depth] = false;
    size_t n = key ? strlen(key) : 0;
    if (!key || json__plain_run(key, n) != n) {
        if (comma)
            w->rc = cc_buf_append(w->b, ",", 1);
        if (key && w->rc == CC_OK)
            w->rc = json__write_string(w->b, key, n);
        if (key && w->rc == CC_OK)
            w->rc = cc_buf_append(w->b, ":", 1);
        return;
    }
    if ((w->rc = cc_buf_reserve(w->b, n + 4)) != CC_OK)
        return;
    char *p = w->b->data + w->b->len;
    if (comma)
        *p++ = ',';
    *p++ = '"';
    memcpy(p, key, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    *p = '\0';
    w->b->len = (size_t)(p - w->b->data);
}

static void jw__open(cc_jw *w, const char *key, const char *c)
{
    jw__prefix(w, key);
    if (w->rc != CC_OK)
        return;
    if (w->depth + 1 >= (int)(sizeof(w->first) / sizeof(w->first[0]))) {
        w->rc = CC_ERR_TOO_BIG;
        return;
    }
    w->rc = cc_buf_append(w->b, c, 1);
    w->first[++w->depth] = true;
}

static void jw__close(cc_jw *w, const char *c)
{
    if (w->rc != CC_OK)
        return;
    if (w->depth == 0) {
        w->rc = CC_ERR_INTERNAL;
        return;
    }
    w->depth--;
    w->rc = cc_buf_append(w->b, c, 1);
}

void cc_jw_raw(cc_jw *w, const char *key, const char *json, size_t n)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = cc_buf_append(w->b, json, n);
}

void cc_jw_obj_begin(cc_jw *w, const char *key)
{
    jw__open(w, key, "{");
}

void cc_jw_obj_end(cc_jw *w)
{
    jw__close(w, "}");
}

void cc_jw_arr_begin(cc_jw *w, const char *key)
{
    jw__open(w, key, "[");
}

void cc_jw_arr_end(cc_jw *w)
{
    jw__close(w, "]");
}

void cc_jw_str(cc_jw *w, const char *key, const char *val)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = val ? json__write_string(w->b, val, strlen(val)) : cc_buf_append(w->b, "null", 4);
}

void cc_jw_int(cc_jw *w, const char *key, int64_t val)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = json__write_int(w->b, val);
}

void cc_jw_bool(cc_jw *w, const char *key, bool val)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = val ? cc_buf_append(w->b, "true", 4) : cc_buf_append(w->b, "false", 5);
}

void cc_jw_null(cc_jw *w, const char *key)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = cc_buf_append(w->b, "null", 4);
}

void cc_jw_value(cc_jw *w, const char *key, const json_t *val)
{
    jw__prefix(w, key);
    if (w->rc == CC_OK)
        w->rc = val ? cc_json_write(w->b, val) : cc_buf_append(w->b, "null", 4);
}

int cc_jw_finish(cc_jw *w)
{
    if (w->rc == CC_OK && w->depth != 0)
        w->rc = CC_ERR_INTERNAL;
    return w->rc;
}

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

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
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
        bool ok = s && strlen(s) == len && utf8_valid((const unsigned char *)s, len) &&
                  (int64_t)len >= f->min && (f->max == 0 || (int64_t)len <= f->max);
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

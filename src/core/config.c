/* config: the configuration table engine. Modules register tables of keys; values come from
 * defaults, then the file, then CARECOMM_* environment variables, and each remembers its
 * source. The same table produces the dump (`config show`) and docs/configuration.md.
 * A failed parse may leave earlier lines applied: callers stop start-up on any error. */
#include "core/core.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_MAX_LINE 4096
#define CFG_MAX_FILE (1024 * 1024)

typedef enum { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_SET } cfg_source;
static const char *source_names[] = {"default", "file", "env", "set"};

typedef struct {
    const cc_cfg_key *key; /* borrowed from the registering module */
    char *text;            /* effective value as text, owned; NULL = unset */
    int64_t ival;
    bool bval;
    cfg_source source;
    unsigned gen; /* parse run that last set it from a file, to catch duplicate lines */
    int line;
    cc_cfg_check check;
} cfg_entry;

struct cc_config {
    cfg_entry *e;
    size_t n, cap;
    unsigned gen;
};

static int check_log_level(const char *value, char *why, size_t whylen)
{
    cc_log_level lvl;
    if (cc_log_level_parse(value, &lvl) == CC_OK)
        return CC_OK;
    cc_say(why, whylen, "must be one of debug, info, warn, error");
    return CC_ERR_CONFIG;
}

const cc_cfg_key core_config_keys[] = {
    {"data_dir", CC_CFG_STRING, "./data", 0, 0, false,
     "Folder holding the database, keys, certificates and logs"},
    {"log_level", CC_CFG_STRING, "info", 0, 0, false,
     "Lowest level written to the log: debug, info, warn or error"},
};
const size_t core_config_keys_count = sizeof core_config_keys / sizeof core_config_keys[0];

cc_config *cc_config_new(void)
{
    return cc_calloc(1, sizeof(cc_config));
}

void cc_config_free(cc_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++)
        cc_free(&cfg->e[i].text);
    cc_free(&cfg->e);
    cc_free_ptr(cfg);
}

static cfg_entry *find_n(const cc_config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strlen(cfg->e[i].key->name) == len && memcmp(cfg->e[i].key->name, name, len) == 0)
            return &cfg->e[i];
    return NULL;
}

static cfg_entry *find(const cc_config *cfg, const char *name)
{
    return find_n(cfg, name, strlen(name));
}

/* Decimal only, optional '-', no spaces, no overflow: strtoll would accept " +0x1" forms. */
static bool parse_int(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    if (!*s)
        return false;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (lim - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* min == max == 0 means the key takes any 64-bit integer. */
static bool int_bounded(const cc_cfg_key *k)
{
    return k->min != 0 || k->max != 0;
}

/* Type-checks value and stores a copy in e. The message in why starts with the quoted key
 * name and never contains the value. On failure e is unchanged. */
static int set_entry(cfg_entry *e, const char *value, cfg_source src, char *why, size_t whylen)
{
    const cc_cfg_key *k = e->key;
    int64_t iv = 0;
    bool bv = false;
    char *copy = NULL;

    if (value && k->type == CC_CFG_INT &&
        (!parse_int(value, &iv) || (int_bounded(k) && (iv < k->min || iv > k->max)))) {
        if (int_bounded(k))
            cc_say(why, whylen, "'%s' must be an integer between %lld and %lld", k->name,
                   (long long)k->min, (long long)k->max);
        else
            cc_say(why, whylen, "'%s' must be an integer", k->name);
        return CC_ERR_CONFIG;
    }
    if (value && k->type == CC_CFG_BOOL && !parse_bool(value, &bv)) {
        cc_say(why, whylen, "'%s' must be a boolean (true/false, yes/no, on/off, 1/0)", k->name);
        return CC_ERR_CONFIG;
    }
    if (value && e->check) {
        char reason[200] = "";
        int rc = e->check(value, reason, sizeof reason);
        if (rc != CC_OK) {
            cc_say(why, whylen, "'%s' %s", k->name, reason[0] ? reason : "has an invalid value");
            return CC_ERR_CONFIG;
        }
    }
    if (value && !(copy = cc_strdup(value))) {
        cc_say(why, whylen, "out of memory");
        return CC_ERR_NOMEM;
    }
    cc_free(&e->text);
    e->text = copy;
    e->ival = iv;
    e->bval = bv;
    e->source = src;
    return CC_OK;
}

int cc_config_register(cc_config *cfg, const cc_cfg_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (find(cfg, keys[i].name))
            return CC_ERR_EXISTS;
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[i].name, keys[j].name) == 0)
                return CC_ERR_EXISTS;
    }
    if (cfg->n + n > cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap : 16;
        while (cap < cfg->n + n)
            cap *= 2;
        cfg_entry *ne = cc_realloc(cfg->e, cap * sizeof *ne);
        if (!ne)
            return CC_ERR_NOMEM;
        cfg->e = ne;
        cfg->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        cfg_entry *e = &cfg->e[cfg->n];
        memset(e, 0, sizeof *e);
        e->key = &keys[i];
        if (&keys[i] == &core_config_keys[1])
            e->check = check_log_level;
        /* A default that fails its own type is a bug in the registering module. */
        int rc = set_entry(e, keys[i].default_value, SRC_DEFAULT, NULL, 0);
        if (rc != CC_OK)
            return rc == CC_ERR_NOMEM ? rc : CC_ERR_INTERNAL;
        cfg->n++;
    }
    return CC_OK;
}

int cc_config_set_check(cc_config *cfg, const char *name, cc_cfg_check check, char *why,
                        size_t whylen)
{
    cfg_entry *e = find(cfg, name);
    if (!e) {
        cc_say(why, whylen, "unknown key '%s'", name);
        return CC_ERR_NOT_FOUND;
    }
    e->check = check;
    if (!e->text || !check)
        return CC_OK;
    char reason[200] = "";
    if (check(e->text, reason, sizeof reason) != CC_OK) {
        cc_say(why, whylen, "'%s' %s", name, reason[0] ? reason : "has an invalid value");
        return CC_ERR_CONFIG;
    }
    return CC_OK;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Decodes a double-quoted value (p points at the opening quote) into out (NUL-terminated,
 * at least n bytes). Only \" and \\ are escapes; nothing but blanks may follow the quote. */
static const char *unquote(const char *p, size_t n, char *out)
{
    size_t i = 1, o = 0;
    for (;;) {
        if (i >= n)
            return "unterminated quoted value";
        char c = p[i++];
        if (c == '"')
            break;
        if (c == '\\') {
            if (i >= n)
                return "unterminated quoted value";
            c = p[i++];
            if (c != '"' && c != '\\')
                return "invalid escape in quoted value (only \\\" and \\\\ are allowed)";
        }
        out[o++] = c;
    }
    while (i < n && is_space(p[i]))
        i++;
    if (i != n)
        return "unexpected text after the closing quote";
    out[o] = '\0';
    return NULL;
}

static int parse_line(cc_config *cfg, const char *p, size_t n, int line, char *why, size_t whylen)
{
    char msg[300];
    char value[CFG_MAX_LINE + 1];
    while (n && is_space(*p)) {
        p++;
        n--;
    }
    while (n && is_space(p[n - 1]))
        n--;
    if (n == 0 || *p == '#')
        return CC_OK;
    const char *eq = memchr(p, '=', n);
    if (!eq) {
        cc_say(why, whylen, "line %d: expected 'key = value'", line);
        return CC_ERR_CONFIG;
    }
    size_t klen = (size_t)(eq - p);
    while (klen && is_space(p[klen - 1]))
        klen--;
    for (size_t i = 0; i < klen; i++) {
        if (!key_char(p[i])) {
            cc_say(why, whylen, "line %d: invalid key name (use a-z, 0-9 and _)", line);
            return CC_ERR_CONFIG;
        }
    }
    if (klen == 0) {
        cc_say(why, whylen, "line %d: missing key before '='", line);
        return CC_ERR_CONFIG;
    }
    cfg_entry *e = find_n(cfg, p, klen);
    if (!e) {
        cc_say(why, whylen, "line %d: unknown key '%.*s'", line, (int)(klen > 64 ? 64 : klen), p);
        return CC_ERR_CONFIG;
    }
    if (e->source == SRC_FILE && e->gen == cfg->gen) {
        cc_say(why, whylen, "line %d: '%s' already set on line %d", line, e->key->name, e->line);
        return CC_ERR_CONFIG;
    }
    const char *v = eq + 1;
    size_t vlen = n - (size_t)(v - p);
    while (vlen && is_space(*v)) {
        v++;
        vlen--;
    }
    if (vlen && *v == '"') {
        const char *bad = unquote(v, vlen, value);
        if (bad) {
            cc_say(why, whylen, "line %d: %s", line, bad);
            return CC_ERR_CONFIG;
        }
    } else {
        memcpy(value, v, vlen);
        value[vlen] = '\0';
    }
    int rc = set_entry(e, value, SRC_FILE, msg, sizeof msg);
    if (rc != CC_OK) {
        cc_say(why, whylen, "line %d: %s", line, msg);
        return rc;
    }
    e->gen = cfg->gen;
    e->line = line;
    return CC_OK;
}

int cc_config_parse(cc_config *cfg, const char *text, size_t n, char *why, size_t whylen)
{
    if (n > CFG_MAX_FILE) {
        cc_say(why, whylen, "file larger than %d bytes", CFG_MAX_FILE);
        return CC_ERR_TOO_BIG;
    }
    cfg->gen++;
    size_t pos = 0;
    for (int line = 1; pos < n; line++) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - start) : n - pos;
        pos += len + (nl ? 1 : 0);
        if (len && start[len - 1] == '\r')
            len--;
        if (len > CFG_MAX_LINE) {
            cc_say(why, whylen, "line %d: longer than %d bytes", line, CFG_MAX_LINE);
            return CC_ERR_CONFIG;
        }
        if (memchr(start, '\0', len)) {
            cc_say(why, whylen, "line %d: contains a NUL byte", line);
            return CC_ERR_CONFIG;
        }
        int rc = parse_line(cfg, start, len, line, why, whylen);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

int cc_config_load_file(cc_config *cfg, const char *path, char *why, size_t whylen)
{
    char *text = NULL;
    size_t n = 0;
    int rc = cc_file_read(path, CFG_MAX_FILE, &text, &n);
    if (rc == CC_ERR_TOO_BIG)
        cc_say(why, whylen, "file larger than %d bytes", CFG_MAX_FILE);
    else if (rc != CC_OK)
        cc_say(why, whylen, "cannot read the file: %s", cc_strerror(rc));
    else
        rc = cc_config_parse(cfg, text, n, why, whylen);
    cc_free(&text);
    return rc;
}

int cc_config_load_env(cc_config *cfg, char *why, size_t whylen)
{
    char var[128], msg[300];
    for (size_t i = 0; i < cfg->n; i++) {
        const char *name = cfg->e[i].key->name;
        int len = snprintf(var, sizeof var, "CARECOMM_%s", name);
        if (len < 0 || (size_t)len >= sizeof var)
            continue; /* no such variable can be meant for a name this long */
        for (char *c = var; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        const char *val = getenv(var);
        if (!val)
            continue;
        int rc = set_entry(&cfg->e[i], val, SRC_ENV, msg, sizeof msg);
        if (rc != CC_OK) {
            cc_say(why, whylen, "%s: %s", var, msg);
            return rc;
        }
    }
    return CC_OK;
}

/* Asking for an unregistered key, or with the wrong type, is a programming error. */
static const cfg_entry *must_find(const cc_config *cfg, const char *name, cc_cfg_type type)
{
    const cfg_entry *e = find(cfg, name);
    if (!e || e->key->type != type)
        abort();
    return e;
}

const char *cc_config_str(const cc_config *cfg, const char *name)
{
    return must_find(cfg, name, CC_CFG_STRING)->text;
}

int64_t cc_config_int(const cc_config *cfg, const char *name)
{
    return must_find(cfg, name, CC_CFG_INT)->ival;
}

bool cc_config_bool(const cc_config *cfg, const char *name)
{
    return must_find(cfg, name, CC_CFG_BOOL)->bval;
}

int cc_config_set(cc_config *cfg, const char *name, const char *value, char *why, size_t whylen)
{
    cfg_entry *e = find(cfg, name);
    if (!e) {
        cc_say(why, whylen, "unknown key '%s'", name);
        return CC_ERR_NOT_FOUND;
    }
    return set_entry(e, value, SRC_SET, why, whylen);
}

static json_t *entry_value(const cfg_entry *e)
{
    if (!e->text)
        return json_null();
    if (e->key->secret)
        return json_string("********");
    switch (e->key->type) {
    case CC_CFG_INT:
        return json_integer(e->ival);
    case CC_CFG_BOOL:
        return json_boolean(e->bval);
    case CC_CFG_STRING:
        break;
    }
    return json_string(e->text);
}

json_t *cc_config_dump(const cc_config *cfg)
{
    json_t *root = json_object();
    if (!root)
        return NULL;
    for (size_t i = 0; i < cfg->n; i++) {
        const cfg_entry *e = &cfg->e[i];
        json_t *item =
            json_pack("{s:o,s:s}", "value", entry_value(e), "source", source_names[e->source]);
        if (!item || json_object_set_new(root, e->key->name, item) != 0) {
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

/* Table cells: a '|' would split the cell and a newline would end the table. */
static int md_cell(cc_buf *b, const char *s)
{
    int rc = CC_OK;
    for (; *s && rc == CC_OK; s++) {
        if (*s == '|')
            rc = cc_buf_append(b, "\\|", 2);
        else if (*s == '\n' || *s == '\r')
            rc = cc_buf_append(b, " ", 1);
        else
            rc = cc_buf_append(b, s, 1);
    }
    return rc;
}

/* Caller frees the result with cc_free. */
char *cc_config_doc(const cc_config *cfg)
{
    cc_buf b = {0};
    int rc = cc_buf_appendf(
        &b, "# Configuration\n\n"
            "carecommd reads `$CARECOMM_DATA_DIR/carecomm.conf` (or the file given with "
            "`--config PATH`): one `key = value` per line, `#` starts a comment line, and values "
            "may be double-quoted. Every key can also be set with the environment variable shown "
            "below, which overrides the file. Invalid values stop start-up with the line and the "
            "reason.\n\n"
            "| key | env | type | default | description |\n"
            "|---|---|---|---|---|\n");
    for (size_t i = 0; i < cfg->n && rc == CC_OK; i++) {
        const cc_cfg_key *k = cfg->e[i].key;
        char env[128];
        int len = snprintf(env, sizeof env, "CARECOMM_%s", k->name);
        for (int c = 0; c < len && c < (int)sizeof env; c++)
            env[c] = (char)toupper((unsigned char)env[c]);
        char type[80] = "string";
        if (k->type == CC_CFG_BOOL)
            snprintf(type, sizeof type, "boolean");
        else if (k->type == CC_CFG_INT && int_bounded(k))
            snprintf(type, sizeof type, "integer %lld..%lld", (long long)k->min, (long long)k->max);
        else if (k->type == CC_CFG_INT)
            snprintf(type, sizeof type, "integer");
        rc = cc_buf_appendf(&b, "| `%s` | `%s` | %s | ", k->name, env, type);
        if (rc == CC_OK && k->default_value && *k->default_value) {
            rc = cc_buf_append(&b, "`", 1);
            if (rc == CC_OK)
                rc = md_cell(&b, k->secret ? "********" : k->default_value);
            if (rc == CC_OK)
                rc = cc_buf_append(&b, "`", 1);
        } else if (rc == CC_OK) {
            rc = cc_buf_append(&b, "(none)", 6);
        }
        if (rc == CC_OK)
            rc = cc_buf_append(&b, " | ", 3);
        if (rc == CC_OK)
            rc = md_cell(&b, k->help ? k->help : "");
        if (rc == CC_OK && k->secret)
            rc = cc_buf_append(&b, " (secret)", 9);
        if (rc == CC_OK)
            rc = cc_buf_append(&b, " |\n", 3);
    }
    if (rc != CC_OK) {
        cc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

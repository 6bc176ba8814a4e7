/* Drift test between the route tables and docs/api/openapi.yaml: every registered route is
 * documented (path, method, permission, public access, restricted use) and every documented
 * operation is a registered route. Runs from the repository root (scripts/run-unit-tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "account/account_internal.h"
#include "care/care_api.h"
#include "media/media_internal.h"
#include "msg/msg_internal.h"
#include "net/net_internal.h"

#include <stdio.h>
#include <string.h>

#define SPEC_PATH "docs/api/openapi.yaml"
#define SPEC_MAX_BYTES (4 * 1024 * 1024)
#define SPEC_MAX_OPS 256

/* The WebSocket upgrade is matched by net/ws.c (net__ws_filter), not by a route table; the spec
 * documents it as a GET answered with 101. */
#define WS_EVENTS_PATH "/api/v1/events"

/* One operation of the spec, read line by line: paths sit at two spaces under "paths:", methods
 * at four, and the x- extensions of an operation at six. */
typedef struct {
    char path[160];     /* OpenAPI form: /api/v1/users/{id} */
    char method[16];    /* lower case */
    char perm[64];      /* x-permission, "" when absent */
    bool is_public;     /* x-public: true */
    bool restricted_ok; /* x-restricted-ok: true */
    int line;
} spec_op;

typedef struct {
    spec_op ops[SPEC_MAX_OPS];
    size_t n;
} spec;

typedef struct {
    const char *name;
    const net_route *routes;
    size_t n;
} route_table;

#define MAX_TABLES 16

static size_t route_tables(route_table out[MAX_TABLES])
{
    size_t n = 0;
    out[n++] = (route_table){"acct_login_routes", acct_login_routes, acct_login_routes_count};
    out[n++] = (route_table){"acct_self_routes", acct_self_routes, acct_self_routes_count};
    out[n++] = (route_table){"acct_admin_routes", acct_admin_routes, acct_admin_routes_count};
    out[n++] = (route_table){"net__builtin_routes", net__builtin_routes, net__builtin_routes_count};
    out[n++] = (route_table){"msg_conv_routes", msg_conv_routes, msg_conv_routes_count};
    out[n++] = (route_table){"msg_member_routes", msg_member_routes, msg_member_routes_count};
    out[n++] = (route_table){"msg_message_routes", msg_message_routes, msg_message_routes_count};
    out[n++] = (route_table){"msg_extra_routes", msg_extra_routes, msg_extra_routes_count};
    out[n++] = (route_table){"msg_search_routes", msg_search_routes, msg_search_routes_count};
    out[n++] = (route_table){"msg_presence_routes", msg_presence_routes, msg_presence_routes_count};
    out[n++] =
        (route_table){"msg_directory_routes", msg_directory_routes, msg_directory_routes_count};
    out[n++] = (route_table){"msg_meeting_routes", msg_meeting_routes, msg_meeting_routes_count};
    out[n++] = (route_table){"msg_guest_routes", msg_guest_routes, msg_guest_routes_count};
    out[n++] = (route_table){"media_routes", media_routes, media_routes_count};
    out[n++] = (route_table){"care_routes", care_routes, care_routes_count};
    out[n++] = (route_table){"care_visit_routes", care_visit_routes, care_visit_routes_count};
    return n;
}

/* "/api/v1/users/:id/reset-totp" -> "/api/v1/users/{id}/reset-totp". false if out is too small. */
static bool openapi_path(const char *route_path, char *out, size_t outlen)
{
    size_t o = 0;
    for (const char *p = route_path; *p;) {
        if (*p == ':') {
            size_t name = strcspn(p + 1, "/");
            if (o + name + 3 > outlen)
                return false;
            out[o++] = '{';
            memcpy(out + o, p + 1, name);
            o += name;
            out[o++] = '}';
            p += 1 + name;
            continue;
        }
        if (o + 2 > outlen)
            return false;
        out[o++] = *p++;
    }
    out[o] = '\0';
    return true;
}

static void lower_copy(const char *in, char *out, size_t outlen)
{
    size_t i = 0;
    for (; in[i] && i + 1 < outlen; i++)
        out[i] = (char)((in[i] >= 'A' && in[i] <= 'Z') ? in[i] + 32 : in[i]);
    out[i] = '\0';
}

static bool is_http_method(const char *key)
{
    static const char *const methods[] = {"get",     "put",  "post",  "delete",
                                          "options", "head", "patch", "trace"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(key, methods[i]) == 0)
            return true;
    return false;
}

/* Copies the value after "key:" into out, without surrounding quotes. */
static void yaml_value(const char *colon, char *out, size_t outlen)
{
    const char *v = colon + 1;
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    snprintf(out, outlen, "%.*s", (int)n, v);
}

/* Parses the operations under "paths:". Fails (with a message) on a line there that it does not
 * understand, so a path written in another form cannot slip past the test. */
static int spec_parse(char *text, spec *sp)
{
    bool in_paths = false;
    spec_op *op = NULL;
    char path[160] = "";
    int lineno = 0;
    for (char *line = text; line && *line; lineno++) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
            line[--len] = '\0';
        size_t indent = strspn(line, " ");
        const char *body = line + indent;
        if (!*body || *body == '#') {
            line = next;
            continue;
        }
        if (indent == 0) {
            in_paths = strcmp(line, "paths:") == 0;
            op = NULL;
            path[0] = '\0';
        } else if (in_paths && indent == 2) {
            if (body[0] != '/' || body[strlen(body) - 1] != ':' || strlen(body) >= sizeof(path)) {
                print_error("%s:%d: expected a path like '  /api/v1/x:', got '%s'\n", SPEC_PATH,
                            lineno + 1, line);
                return -1;
            }
            snprintf(path, sizeof(path), "%.*s", (int)strlen(body) - 1, body);
            op = NULL;
        } else if (in_paths && indent == 4) {
            const char *colon = strchr(body, ':');
            char key[16];
            op = NULL;
            if (colon && (size_t)(colon - body) < sizeof(key)) {
                snprintf(key, sizeof(key), "%.*s", (int)(colon - body), body);
                if (is_http_method(key)) {
                    if (!path[0] || sp->n == SPEC_MAX_OPS || colon[1] != '\0') {
                        print_error("%s:%d: unexpected operation line '%s'\n", SPEC_PATH,
                                    lineno + 1, line);
                        return -1;
                    }
                    op = &sp->ops[sp->n++];
                    memset(op, 0, sizeof(*op));
                    snprintf(op->path, sizeof(op->path), "%s", path);
                    snprintf(op->method, sizeof(op->method), "%s", key);
                    op->line = lineno + 1;
                }
            }
        } else if (in_paths && indent == 6 && op) {
            const char *colon = strchr(body, ':');
            char value[64];
            if (colon) {
                yaml_value(colon, value, sizeof(value));
                if (strncmp(body, "x-permission:", 13) == 0)
                    snprintf(op->perm, sizeof(op->perm), "%s", value);
                else if (strncmp(body, "x-public:", 9) == 0)
                    op->is_public = strcmp(value, "true") == 0;
                else if (strncmp(body, "x-restricted-ok:", 16) == 0)
                    op->restricted_ok = strcmp(value, "true") == 0;
            }
        }
        line = next;
    }
    return 0;
}

static spec_op *spec_find(spec *sp, const char *path, const char *method)
{
    for (size_t i = 0; i < sp->n; i++)
        if (strcmp(sp->ops[i].path, path) == 0 && strcmp(sp->ops[i].method, method) == 0)
            return &sp->ops[i];
    return NULL;
}

static int setup(void **state)
{
    char *text = NULL;
    spec *sp = cc_calloc(1, sizeof(*sp));
    if (!sp)
        return -1;
    int rc = cc_file_read(SPEC_PATH, SPEC_MAX_BYTES, &text, NULL);
    if (rc != CC_OK) {
        print_error("cannot read %s (%s): run from the repository root\n", SPEC_PATH,
                    cc_strerror(rc));
        cc_free(&sp);
        return -1;
    }
    rc = spec_parse(text, sp);
    cc_free(&text);
    if (rc != 0) {
        cc_free(&sp);
        return -1;
    }
    *state = sp;
    return 0;
}

static int teardown(void **state)
{
    spec *sp = *state;
    cc_free(&sp);
    return 0;
}

static void test_path_rewrite(void **state)
{
    (void)state;
    char out[64];
    assert_true(openapi_path("/healthz", out, sizeof(out)));
    assert_string_equal(out, "/healthz");
    assert_true(openapi_path("/api/v1/users/:id", out, sizeof(out)));
    assert_string_equal(out, "/api/v1/users/{id}");
    assert_true(openapi_path("/api/v1/users/:id/reset-totp", out, sizeof(out)));
    assert_string_equal(out, "/api/v1/users/{id}/reset-totp");
    assert_true(openapi_path("/a/:x/:y", out, sizeof(out)));
    assert_string_equal(out, "/a/{x}/{y}");
    assert_false(openapi_path("/api/v1/users/:id", out, 10));
}

static void test_spec_parsed(void **state)
{
    spec *sp = *state;
    /* Guards the parser itself: an empty result would make the other tests vacuous. */
    assert_true(sp->n > 0);
    spec_op *login = spec_find(sp, "/api/v1/auth/login", "post");
    assert_non_null(login);
    assert_true(login->is_public);
    spec_op *patch = spec_find(sp, "/api/v1/users/{id}", "patch");
    assert_non_null(patch);
    assert_string_equal(patch->perm, "users.write");
}

/* Every route of every table is in the spec, with its access rules. */
static void test_routes_documented(void **state)
{
    spec *sp = *state;
    route_table tables[MAX_TABLES];
    size_t nt = route_tables(tables);
    int drift = 0;
    for (size_t t = 0; t < nt; t++) {
        assert_true(tables[t].n > 0);
        for (size_t i = 0; i < tables[t].n; i++) {
            const net_route *rt = &tables[t].routes[i];
            char path[160], method[8];
            assert_true(openapi_path(rt->path, path, sizeof(path)));
            lower_copy(rt->method, method, sizeof(method));
            spec_op *op = spec_find(sp, path, method);
            if (!op) {
                print_error("%s %s (%s) is missing from %s: add '  %s:' / '    %s:'\n", rt->method,
                            rt->path, tables[t].name, SPEC_PATH, path, method);
                drift++;
                continue;
            }
            bool is_public = (rt->flags & NET_ROUTE_PUBLIC) != 0;
            bool restricted_ok = (rt->flags & NET_ROUTE_RESTRICTED_OK) != 0;
            const char *perm = is_public ? "" : auth_perm_name((auth_perm)rt->perm);
            if (op->is_public != is_public) {
                print_error("%s:%d: %s %s: x-public should be %s\n", SPEC_PATH, op->line,
                            rt->method, path, is_public ? "true" : "absent");
                drift++;
            }
            if (!perm || strcmp(op->perm, perm) != 0) {
                print_error("%s:%d: %s %s: x-permission is '%s', the route needs '%s'\n", SPEC_PATH,
                            op->line, rt->method, path, op->perm, perm ? perm : "(unknown)");
                drift++;
            }
            if (!is_public && op->restricted_ok != restricted_ok) {
                print_error("%s:%d: %s %s: x-restricted-ok should be %s\n", SPEC_PATH, op->line,
                            rt->method, path, restricted_ok ? "true" : "absent");
                drift++;
            }
        }
    }
    assert_int_equal(drift, 0);
}

/* Every operation of the spec is a registered route (or the WebSocket upgrade). */
static void test_spec_has_no_extra_routes(void **state)
{
    spec *sp = *state;
    route_table tables[MAX_TABLES];
    size_t nt = route_tables(tables);
    int drift = 0;
    bool ws_documented = false;
    for (size_t k = 0; k < sp->n; k++) {
        const spec_op *op = &sp->ops[k];
        if (strcmp(op->path, WS_EVENTS_PATH) == 0 && strcmp(op->method, "get") == 0) {
            ws_documented = true;
            continue;
        }
        bool found = false;
        for (size_t t = 0; t < nt && !found; t++) {
            for (size_t i = 0; i < tables[t].n && !found; i++) {
                const net_route *rt = &tables[t].routes[i];
                char path[160], method[8];
                assert_true(openapi_path(rt->path, path, sizeof(path)));
                lower_copy(rt->method, method, sizeof(method));
                found = strcmp(path, op->path) == 0 && strcmp(method, op->method) == 0;
            }
        }
        if (!found) {
            print_error("%s:%d: %s %s is documented but no route table registers it\n", SPEC_PATH,
                        op->line, op->method, op->path);
            drift++;
        }
    }
    if (!ws_documented) {
        print_error("%s: the WebSocket upgrade 'GET %s' is not documented\n", SPEC_PATH,
                    WS_EVENTS_PATH);
        drift++;
    }
    assert_int_equal(drift, 0);
}

/* A path+method registered twice would be served by the first table only, and the spec could
 * describe only one of them. */
static void test_routes_unique(void **state)
{
    (void)state;
    route_table tables[MAX_TABLES];
    size_t nt = route_tables(tables);
    for (size_t t = 0; t < nt; t++)
        for (size_t i = 0; i < tables[t].n; i++)
            for (size_t u = t; u < nt; u++)
                for (size_t j = (u == t ? i + 1 : 0); j < tables[u].n; j++) {
                    const net_route *a = &tables[t].routes[i], *b = &tables[u].routes[j];
                    if (strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0)
                        fail_msg("%s %s is registered twice (%s, %s)", a->method, a->path,
                                 tables[t].name, tables[u].name);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_rewrite),      cmocka_unit_test(test_spec_parsed),
        cmocka_unit_test(test_routes_documented), cmocka_unit_test(test_spec_has_no_extra_routes),
        cmocka_unit_test(test_routes_unique),
    };
    return cmocka_run_group_tests_name("openapi", tests, setup, teardown);
}

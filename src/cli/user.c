/* `carecomm user ...`: create the first admin and manage accounts from the server's shell. */
#include "cli/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *display;
    auth_role role;
    bool temporary;
    bool disable;
    const char *idents[CARE_MAX_IDS]; /* --ident: what booking systems name the practitioner by */
    int nidents;
    char hash[AUTH_PWHASH_LEN];
    auth_user user;
    int token_days; /* user token */
    char token[64]; /* user token: shown once */
} cli_user_args;

/* One line of standard input, without its newline. Never echoed, never logged. */
static int cli_read_password(char *buf, size_t n)
{
    if (!fgets(buf, (int)n, stdin))
        return CC_ERR_INVALID;
    size_t len = strlen(buf);
    if (len == n - 1 && buf[len - 1] != '\n')
        return CC_ERR_TOO_BIG;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return len ? CC_OK : CC_ERR_INVALID;
}

static int cli_password_hash(const char *username, char hash[AUTH_PWHASH_LEN])
{
    char pw[1100];
    const char *why = NULL;
    int rc = cli_read_password(pw, sizeof(pw));
    if (rc != CC_OK) {
        fprintf(stderr, "carecomm: give the password on standard input (one line)\n");
        goto out;
    }
    if ((rc = auth_password_policy(pw, username, &why)) != CC_OK) {
        fprintf(stderr, "carecomm: password refused: %s\n", why);
        goto out;
    }
    rc = auth_password_hash(pw, hash);
out:
    sodium_memzero(pw, sizeof(pw));
    return rc;
}

/* A system account has no password anyone knows: a random one, never shown, so that a password
 * login can never succeed; it works with the tokens of `user token`. */
static int cli_password_random(char hash[AUTH_PWHASH_LEN])
{
    char *pw = cc_random_token(32);
    if (!pw)
        return CC_ERR_NOMEM;
    int rc = auth_password_hash(pw, hash);
    sodium_memzero(pw, strlen(pw));
    cc_free(&pw);
    return rc;
}

static int cli_find(cli_ctx *c, const char *name, auth_user *u)
{
    int rc = auth_user_get(c->st, NULL, name, u);
    if (rc == CC_ERR_NOT_FOUND)
        fprintf(stderr, "carecomm: no user named '%s'\n", name);
    return rc;
}

static int cli_object(const auth_user *u, char out[8 + CC_ID_LEN])
{
    snprintf(out, 8 + CC_ID_LEN, "user:%s", u->id);
    return CC_OK;
}

/* Adds the --ident values to a->user; an identifier another user has is an error. */
static int cli_add_idents(cli_ctx *c, cli_user_args *a, json_t **added)
{
    *added = json_array();
    for (int i = 0; i < a->nidents; i++) {
        int rc = care_ident_add(c->st, a->user.id, a->idents[i]);
        if (rc == CC_ERR_EXISTS)
            fprintf(stderr, "carecomm: the identifier '%s' already names another user\n",
                    a->idents[i]);
        if (rc != CC_OK) {
            json_decref(*added);
            *added = NULL;
            return rc;
        }
        json_array_append_new(*added, json_string(a->idents[i]));
    }
    return *added ? CC_OK : CC_ERR_NOMEM;
}

static int cli_create_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    json_t *idents = NULL;
    int rc = auth_user_create(c->st, a->name, a->display ? a->display : a->name, a->role, a->hash,
                              a->temporary, &a->user);
    if (rc == CC_ERR_EXISTS)
        fprintf(stderr, "carecomm: a user named '%s' already exists\n", a->name);
    if (rc != CC_OK || (rc = cli_add_idents(c, a, &idents)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.create", object,
                     json_pack("{s:s,s:s,s:o}", "username", a->name, "role",
                               auth_role_name(a->role), "idents", idents));
}

static int cli_add_ident_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    json_t *idents = NULL;
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK || (rc = cli_add_idents(c, a, &idents)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.update", object, json_pack("{s:o}", "idents_added", idents));
}

/* A token for a system account (a booking system on FHIR): a session with no idle expiry, ending
 * after --days, listed and revoked like any session; the token itself is printed once. */
static int cli_token_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK)
        return rc;
    if (!auth_role_is_system(a->user.role)) {
        fprintf(stderr, "carecomm: tokens are for system accounts (role booking_system); people "
                        "log in\n");
        return CC_ERR_DENIED;
    }
    if (a->user.disabled) {
        fprintf(stderr, "carecomm: '%s' is disabled\n", a->name);
        return CC_ERR_DENIED;
    }
    char *token = cc_random_token(32);
    if (!token)
        return CC_ERR_NOMEM;
    snprintf(a->token, sizeof(a->token), "%s", token);
    sodium_memzero(token, strlen(token));
    cc_free(&token);
    auth_session s;
    memset(&s, 0, sizeof(s));
    cc_id_new(s.id);
    auth_token_hash(a->token, s.token_hash);
    memcpy(s.user_id, a->user.id, sizeof(s.user_id));
    s.created_at = s.last_seen_at = cc_now_ms();
    s.expires_at = s.created_at + (int64_t)a->token_days * 86400000;
    snprintf(s.source_ip, sizeof(s.source_ip), "cli");
    snprintf(s.user_agent, sizeof(s.user_agent), "carecomm user token");
    if ((rc = auth_session_insert(c->st, &s)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.token", object,
                     json_pack("{s:s,s:i}", "session_id", s.id, "days", a->token_days));
}

static int cli_disable_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK)
        return rc;
    cli_object(&a->user, object);
    if ((rc = auth_user_set_disabled(c->st, a->user.id, a->disable)) != CC_OK)
        return rc;
    if (a->disable && (rc = auth_session_revoke_all(c->st, a->user.id, NULL, NULL)) != CC_OK)
        return rc;
    return cli_audit(c, "user.update", object, json_pack("{s:b}", "disabled", a->disable));
}

static int cli_role_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK || (rc = auth_user_set_role(c->st, a->user.id, a->role)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.update", object, json_pack("{s:s}", "role", auth_role_name(a->role)));
}

static int cli_reset_pw_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK ||
        (rc = auth_user_set_password(c->st, a->user.id, a->hash, a->temporary)) != CC_OK ||
        (rc = auth_session_revoke_all(c->st, a->user.id, NULL, NULL)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.reset_password", object, NULL);
}

static int cli_reset_totp_tx(cli_ctx *c, void *ud)
{
    cli_user_args *a = ud;
    char object[8 + CC_ID_LEN];
    int rc = cli_find(c, a->name, &a->user);
    if (rc != CC_OK || (rc = auth_user_reset_totp(c->st, a->user.id)) != CC_OK ||
        (rc = auth_session_revoke_all(c->st, a->user.id, NULL, NULL)) != CC_OK)
        return rc;
    cli_object(&a->user, object);
    return cli_audit(c, "user.reset_totp", object, NULL);
}

static void cli_print_user(void *ud, const auth_user *u)
{
    (void)ud;
    printf("%-24s %-13s %-8s %-4s %s\n", u->username, auth_role_name(u->role),
           u->disabled ? "disabled" : "active", u->totp_enabled ? "2fa" : "-", u->display_name);
}

static int cli_parse_opts(cli_user_args *a, int argc, char **argv, bool need_role)
{
    bool has_role = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            if (auth_role_parse(argv[++i], &a->role) != CC_OK) {
                fprintf(stderr, "carecomm: unknown role '%s'\n", argv[i]);
                return CC_ERR_INVALID;
            }
            has_role = true;
        } else if (strcmp(argv[i], "--display") == 0 && i + 1 < argc) {
            a->display = argv[++i];
        } else if (strcmp(argv[i], "--temporary") == 0) {
            a->temporary = true;
        } else if (strcmp(argv[i], "--ident") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            size_t n = strlen(v);
            if (a->nidents == CARE_MAX_IDS || n == 0 || n >= CARE_ID_MAX || strpbrk(v, " \t\r\n")) {
                fprintf(stderr,
                        "carecomm: --ident takes 1 to %d characters without spaces, at "
                        "most %d times\n",
                        CARE_ID_MAX - 1, CARE_MAX_IDS);
                return CC_ERR_INVALID;
            }
            a->idents[a->nidents++] = v;
        } else {
            fprintf(stderr, "carecomm: unexpected argument '%s'\n", argv[i]);
            return CC_ERR_INVALID;
        }
    }
    if (need_role && !has_role) {
        fprintf(stderr, "carecomm: --role is required\n");
        return CC_ERR_INVALID;
    }
    return CC_OK;
}

int cli_user_cmd(cli_ctx *c, int argc, char **argv)
{
    cli_user_args a;
    memset(&a, 0, sizeof(a));
    if (argc < 1)
        goto usage;
    const char *sub = argv[0];
    if (strcmp(sub, "list") == 0 && argc == 1) {
        if (cli_open(c) != CC_OK)
            return 1;
        return auth_user_list(c->st, cli_print_user, NULL) == CC_OK ? 0 : 1;
    }
    if (argc < 2)
        goto usage;
    a.name = argv[1];
    int (*tx)(cli_ctx *, void *) = NULL;
    const char *done = NULL;
    if (strcmp(sub, "create") == 0) {
        if (cli_parse_opts(&a, argc - 2, argv + 2, true) != CC_OK)
            return 2;
        if (!auth_username_valid(a.name)) {
            fprintf(stderr, "carecomm: usernames are 2 to 64 lower-case letters, digits, '.', "
                            "'_' or '-'\n");
            return 2;
        }
        if ((auth_role_is_system(a.role) ? cli_password_random(a.hash)
                                         : cli_password_hash(a.name, a.hash)) != CC_OK)
            return 2;
        tx = cli_create_tx;
        done = "created";
    } else if (strcmp(sub, "token") == 0 &&
               (argc == 2 || (argc == 4 && strcmp(argv[2], "--days") == 0))) {
        char *end = NULL;
        long days = argc == 4 ? strtol(argv[3], &end, 10) : 365;
        if ((argc == 4 && (!end || *end)) || days < 1 || days > 3650) {
            fprintf(stderr, "carecomm: --days is 1 to 3650\n");
            return 2;
        }
        a.token_days = (int)days;
        tx = cli_token_tx;
        done = NULL;
    } else if ((strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) && argc == 2) {
        a.disable = strcmp(sub, "disable") == 0;
        tx = cli_disable_tx;
        done = a.disable ? "disabled (sessions revoked)" : "enabled";
    } else if (strcmp(sub, "set-role") == 0 && argc == 3) {
        if (auth_role_parse(argv[2], &a.role) != CC_OK) {
            fprintf(stderr, "carecomm: unknown role '%s'\n", argv[2]);
            return 2;
        }
        tx = cli_role_tx;
        done = "role changed";
    } else if (strcmp(sub, "reset-password") == 0) {
        if (cli_parse_opts(&a, argc - 2, argv + 2, false) != CC_OK ||
            cli_password_hash(a.name, a.hash) != CC_OK)
            return 2;
        tx = cli_reset_pw_tx;
        done = "password reset (sessions revoked)";
    } else if (strcmp(sub, "add-ident") == 0 && argc == 3) {
        a.idents[a.nidents++] = argv[2];
        tx = cli_add_ident_tx;
        done = "identifier added";
    } else if (strcmp(sub, "reset-totp") == 0 && argc == 2) {
        tx = cli_reset_totp_tx;
        done = "2FA reset: the user enrols again at next login";
    } else {
        goto usage;
    }
    if (cli_open(c) != CC_OK)
        return 1;
    int rc = cli_tx(c, tx, &a);
    sodium_memzero(a.hash, sizeof(a.hash));
    if (rc != CC_OK) {
        if (rc != CC_ERR_EXISTS && rc != CC_ERR_NOT_FOUND)
            fprintf(stderr, "carecomm: failed: %s (%s)\n", cc_strerror(rc), store_errmsg(c->st));
        return 1;
    }
    if (tx == cli_token_tx) {
        /* The token alone on standard output (for a script to store it); the rest on stderr. */
        printf("%s\n", a.token);
        fprintf(stderr,
                "carecomm: token for %s, valid %d days; it is not shown again. Use it as "
                "'Authorization: Bearer <token>' on /fhir/R4\n",
                a.name, a.token_days);
        sodium_memzero(a.token, sizeof(a.token));
        return 0;
    }
    printf("user %s: %s\n", a.name, done);
    return 0;
usage:
    fprintf(stderr, "carecomm: see `carecomm --help` for the user commands\n");
    return 2;
}

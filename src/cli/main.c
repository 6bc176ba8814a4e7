/* carecomm: the administrator's command-line tool. It opens the store directly (the daemon may be
 * running: SQLite in WAL mode and PostgreSQL both allow it) and writes through the same logic
 * functions as the daemon, with their events, so a running daemon follows every change. */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void cli_usage(FILE *f)
{
    fprintf(
        f,
        "usage: carecomm [--config FILE] COMMAND\n"
        "\n"
        "  user create NAME --role ROLE [--display \"Full Name\"] [--temporary]\n"
        "              [--ident VALUE]...  password read from standard input; --temporary makes\n"
        "                               the user change it at first login; --ident (repeatable)\n"
        "                               is an identifier booking systems name them by (AIP-3)\n"
        "  user add-ident NAME VALUE    one more such identifier\n"
        "  user list\n"
        "  user disable NAME | user enable NAME\n"
        "  user set-role NAME ROLE\n"
        "  user reset-password NAME [--temporary]   new password from standard input\n"
        "  user reset-totp NAME\n"
        "  user token NAME [--days N]   a token for a system account (booking_system; 365 days)\n"
        "  audit verify                 exit 0 if the audit chain is intact\n"
        "  config show                  effective configuration and where each value comes from\n"
        "  config doc                   markdown reference of every key\n"
        "  backup FILE                  online backup of the SQLite store\n"
        "  restore FILE                 replace the SQLite store by a backup (daemon stopped)\n"
        "  demo seed                    fill an empty store with a small demo hospital\n"
        "  demo code USER               the current 2FA code of a demo user (demo stores only)\n"
        "\n"
        "roles: admin, practitioner, nurse, secretary, it_support, booking_system (a machine:\n"
        "  FHIR appointments only, no password: create it, then give it a token)\n"
        "CARECOMM_DATA_DIR and every CARECOMM_* variable apply as for carecommd.\n");
}

int cli_config_load(cli_ctx *c, const char *path)
{
    char why[256] = "";
    c->cfg = cc_config_new();
    if (!c->cfg || cc_config_register(c->cfg, core_config_keys, core_config_keys_count) ||
        cc_config_register(c->cfg, store_config_keys, store_config_keys_count) ||
        cc_config_register(c->cfg, net_config_keys, net_config_keys_count) ||
        cc_config_register(c->cfg, account_config_keys, account_config_keys_count) ||
        cc_config_register(c->cfg, msg_config_keys, msg_config_keys_count) ||
        cc_config_register(c->cfg, media_config_keys, media_config_keys_count) ||
        cc_config_register(c->cfg, interop_config_keys, interop_config_keys_count) ||
        cc_config_register(c->cfg, care_config_keys, care_config_keys_count))
        return CC_ERR_INTERNAL;
    if (cc_config_load_env(c->cfg, why, sizeof(why)) != CC_OK)
        goto fail;
    char *def = NULL;
    if (!path && !(def = cc_sprintf("%s/carecomm.conf", cc_config_str(c->cfg, "data_dir"))))
        return CC_ERR_NOMEM;
    int rc = cc_config_load_file(c->cfg, path ? path : def, why, sizeof(why));
    cc_free(&def);
    if (rc != CC_OK && !(rc == CC_ERR_NOT_FOUND && !path))
        goto fail;
    if (cc_config_load_env(c->cfg, why, sizeof(why)) != CC_OK)
        goto fail;
    return CC_OK;
fail:
    fprintf(stderr, "carecomm: invalid configuration: %s\n", why);
    return CC_ERR_CONFIG;
}

int cli_open(cli_ctx *c)
{
    char why[256] = "";
    const char *dir = cc_config_str(c->cfg, "data_dir");
    if (cc_mkdir_p(dir) != CC_OK) {
        fprintf(stderr, "carecomm: cannot create the data folder %s\n", dir);
        return CC_ERR_IO;
    }
    if (auth_keys_load(dir, true, &c->keys, why, sizeof(why)) != CC_OK ||
        store_open_config(c->cfg, &c->st, why, sizeof(why)) != CC_OK) {
        fprintf(stderr, "carecomm: %s\n", why);
        return CC_ERR_STORE;
    }
    return CC_OK;
}

/* Runs fn inside one transaction; rolls back on any error. */
int cli_tx(cli_ctx *c, int (*fn)(cli_ctx *c, void *ud), void *ud)
{
    int rc = store_begin(c->st);
    if (rc != CC_OK)
        return rc;
    rc = fn(c, ud);
    if (rc == CC_OK)
        rc = store_commit(c->st);
    if (rc != CC_OK)
        store_rollback(c->st);
    return rc;
}

int cli_audit(cli_ctx *c, const char *action, const char *object, json_t *details)
{
    const char *os_user = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
    if (!details)
        details = json_object();
    json_object_set_new(details, "os_user", json_string(os_user ? os_user : "unknown"));
    auth_audit_entry e = {
        .actor_name = "cli",
        .action = action,
        .object = object,
        .source_ip = "local",
        .outcome = "success",
        .details = details,
    };
    int rc = auth_audit_append(c->st, &c->keys, &e, NULL);
    json_decref(details);
    return rc;
}

static int cli_config_cmd(cli_ctx *c, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "show") == 0) {
        json_t *d = cc_config_dump(c->cfg);
        char *text = d ? json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(d);
        return text ? 0 : 1;
    }
    if (argc == 1 && strcmp(argv[0], "doc") == 0) {
        char *doc = cc_config_doc(c->cfg);
        if (doc)
            fputs(doc, stdout);
        int ok = doc != NULL;
        cc_free(&doc);
        return ok ? 0 : 1;
    }
    cli_usage(stderr);
    return 2;
}

static int cli_audit_cmd(cli_ctx *c, int argc, char **argv)
{
    if (argc != 1 || strcmp(argv[0], "verify") != 0) {
        cli_usage(stderr);
        return 2;
    }
    if (cli_open(c) != CC_OK)
        return 1;
    auth_audit_report rep;
    int rc = auth_audit_verify(c->st, &c->keys, &rep);
    if (rc == CC_OK) {
        printf("audit chain intact: %lld records, head %s\n", (long long)rep.records,
               rep.head_hash);
        return 0;
    }
    if (rc == CC_ERR_TAMPERED) {
        printf("audit chain BROKEN at record %lld: %s\n", (long long)rep.first_bad, rep.reason);
        return 3;
    }
    fprintf(stderr, "carecomm: cannot read the audit chain: %s\n", cc_strerror(rc));
    return 1;
}

static int cli_backup_cmd(cli_ctx *c, bool restore, int argc, char **argv)
{
    char why[256] = "";
    if (argc != 1) {
        cli_usage(stderr);
        return 2;
    }
    if (strcmp(cc_config_str(c->cfg, "store_backend"), "sqlite") != 0) {
        fprintf(stderr, "carecomm: backup and restore handle the SQLite store; for PostgreSQL "
                        "use pg_dump / pg_restore (docs/operations.md)\n");
        return 2;
    }
    if (restore) {
        char *db = cc_sprintf("%s/carecomm.db", cc_config_str(c->cfg, "data_dir"));
        int rc = db ? store_restore_sqlite(argv[0], db, why, sizeof(why)) : CC_ERR_NOMEM;
        if (rc == CC_OK)
            printf("restored %s from %s (previous file kept as %s.before-restore)\n", db, argv[0],
                   db);
        else
            fprintf(stderr, "carecomm: restore refused: %s\n", why[0] ? why : cc_strerror(rc));
        cc_free(&db);
        return rc == CC_OK ? 0 : 1;
    }
    if (cli_open(c) != CC_OK)
        return 1;
    int rc = store_backup(c->st, argv[0]);
    if (rc != CC_OK) {
        fprintf(stderr, "carecomm: backup failed: %s\n", cc_strerror(rc));
        return 1;
    }
    printf("backup written to %s\n", argv[0]);
    return 0;
}

int main(int argc, char **argv)
{
    cli_ctx c;
    const char *config_path = NULL;
    int i = 1, code = 2;
    memset(&c, 0, sizeof(c));
    if (cc_crypto_init() != CC_OK)
        return 1;
    cc_log_set_level(CC_LOG_WARN);
    if (i + 1 < argc && strcmp(argv[i], "--config") == 0) {
        config_path = argv[i + 1];
        i += 2;
    }
    if (i >= argc || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "help") == 0) {
        cli_usage(i >= argc ? stderr : stdout);
        return i >= argc ? 2 : 0;
    }
    if (cli_config_load(&c, config_path) != CC_OK) {
        code = 1;
        goto out;
    }
    const char *cmd = argv[i++];
    if (strcmp(cmd, "user") == 0)
        code = cli_user_cmd(&c, argc - i, argv + i);
    else if (strcmp(cmd, "audit") == 0)
        code = cli_audit_cmd(&c, argc - i, argv + i);
    else if (strcmp(cmd, "demo") == 0)
        code = cli_demo_cmd(&c, argc - i, argv + i);
    else if (strcmp(cmd, "config") == 0)
        code = cli_config_cmd(&c, argc - i, argv + i);
    else if (strcmp(cmd, "backup") == 0)
        code = cli_backup_cmd(&c, false, argc - i, argv + i);
    else if (strcmp(cmd, "restore") == 0)
        code = cli_backup_cmd(&c, true, argc - i, argv + i);
    else
        cli_usage(stderr);
out:
    store_close(c.st);
    cc_config_free(c.cfg);
    return code;
}

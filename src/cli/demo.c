/* `carecomm demo seed` and `carecomm demo code USER`: a small hospital in an empty store, to try
 * carecomm in five minutes (README). The demo staff have 2FA enrolled with secrets carecomm keeps;
 * `demo code` prints a user's current code — only in a store the seed made, never otherwise. */
#include "cli/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEMO_PASSWORD "Demo-carecomm-2026"

typedef struct {
    const char *name, *display, *ident;
    auth_role role;
    char id[CC_ID_LEN + 1];
    char hash[AUTH_PWHASH_LEN];
} demo_user;

static demo_user demo_users[] = {
    {"admin", "Administratrice (démo)", NULL, ROLE_ADMIN, "", ""},
    {"dr.martin", "Dr Paul Martin, cardiologie", "10003456789", ROLE_PRACTITIONER, "", ""},
    {"dr.leroy", "Dr Sophie Leroy, dermatologie", "10004567890", ROLE_PRACTITIONER, "", ""},
    {"inf.bernard", "Lucie Bernard, infirmière", NULL, ROLE_NURSE, "", ""},
    {"sec.dubois", "Marc Dubois, secrétariat", NULL, ROLE_SECRETARY, "", ""},
    {"it.roux", "Nadia Roux, informatique", NULL, ROLE_IT_SUPPORT, "", ""},
};
#define NUSERS (sizeof demo_users / sizeof demo_users[0])

typedef struct {
    const char *family, *given, *email;
    int practitioner; /* index in demo_users */
    int minutes;      /* from the next half hour */
} demo_patient;

static const demo_patient demo_patients[] = {
    {"DUPONT", "Jeanne", "jeanne.dupont@example.org", 1, -30},
    {"MOREAU", "Louise", "louise.moreau@example.org", 1, 0},
    {"PETIT", "Henri", "henri.petit@example.org", 1, 30},
    {"GARNIER", "Alice", "alice.garnier@example.org", 1, 60},
    {"FAURE", "Michel", "michel.faure@example.org", 1, 120},
    {"LAMBERT", "Chloé", "chloe.lambert@example.org", 2, 0},
    {"ROUSSEL", "Yves", "yves.roussel@example.org", 2, 45},
};

static int demo_user_tx(cli_ctx *c, demo_user *u)
{
    auth_user out;
    char secret[AUTH_TOTP_SECRET_B32_LEN + 1], *sealed = NULL;
    char none[1][CC_HASH_HEX_LEN + 1];
    int rc = auth_user_create(c->st, u->name, u->display, u->role, u->hash, false, &out);
    if (rc != CC_OK)
        return rc;
    snprintf(u->id, sizeof u->id, "%s", out.id);
    auth_totp_new_secret(secret);
    if ((rc = auth_secret_seal(&c->keys, u->id, secret, &sealed)) == CC_OK &&
        (rc = auth_user_set_totp_pending(c->st, u->id, sealed)) == CC_OK)
        rc = auth_user_enable_totp(c->st, u->id, 0, none, 0);
    sodium_memzero(secret, sizeof secret);
    cc_free(&sealed);
    if (rc == CC_OK && u->ident)
        rc = care_ident_add(c->st, u->id, u->ident);
    return rc;
}

static int demo_messages(cli_ctx *c, int64_t now)
{
    const char *cardio[] = {demo_users[1].id, demo_users[3].id, demo_users[4].id};
    const char *it[] = {demo_users[5].id, demo_users[0].id, demo_users[1].id,
                        demo_users[2].id, demo_users[3].id, demo_users[4].id};
    char ch1[CC_ID_LEN + 1], ch2[CC_ID_LEN + 1];
    int rc = msg_seed_channel(c->st, "cardiologie", "Service de cardiologie, 3e étage",
                              demo_users[1].id, cardio, 3, now - 3 * 3600000, ch1);
    if (rc == CC_OK)
        rc = msg_seed_channel(c->st, "informatique", "Questions et pannes : l'équipe IT répond",
                              demo_users[5].id, it, 6, now - 3 * 3600000, ch2);
    static const struct {
        int ch, who, ago_min;
        const char *text;
    } lines[] = {
        {1, 4, 170, "Bonjour, les téléconsultations de cet après-midi sont confirmées."},
        {1, 1, 160, "Merci. Mme Dupont aura besoin de son dernier ECG, je le demande."},
        {1, 3, 150, "ECG de Mme Dupont numérisé, il est dans le dossier."},
        {1, 1, 90, "Parfait. Je commence les consultations à l'heure prévue."},
        {2, 5, 120, "Rappel : mise à jour des postes du 2e étage ce soir à 20 h."},
        {2, 2, 60, "Ma caméra n'est pas reconnue sur le poste 214, qui peut passer ?"},
        {2, 5, 55, "J'arrive dans 10 minutes."},
    };
    for (size_t i = 0; rc == CC_OK && i < sizeof lines / sizeof lines[0]; i++)
        rc = msg_seed_message(c->st, lines[i].ch == 1 ? ch1 : ch2, demo_users[lines[i].who].id,
                              lines[i].text, now - (int64_t)lines[i].ago_min * 60000);
    return rc;
}

static int demo_bookings(cli_ctx *c, int64_t now, char links[][AUTH_LINK_TOKEN_LEN + 1])
{
    const care_policy policy = {.link_before_ms = 24 * 3600000LL, .link_after_ms = 2 * 3600000LL};
    int64_t half = (now / 1800000 + 1) * 1800000; /* the next half hour */
    for (size_t i = 0; i < sizeof demo_patients / sizeof demo_patients[0]; i++) {
        const demo_patient *p = &demo_patients[i];
        care_booking b;
        care_result r;
        memset(&b, 0, sizeof b);
        b.action = CARE_BOOK;
        b.msg_ts = now;
        snprintf(b.ids[0].system, CARE_ID_MAX, "placer:DEMO");
        snprintf(b.ids[0].value, CARE_ID_MAX, "DEMO-%zu", i + 1);
        b.nids = 1;
        b.start_ms = half + (int64_t)p->minutes * 60000;
        b.end_ms = b.start_ms + 20 * 60000;
        snprintf(b.practitioner_user, sizeof b.practitioner_user, "%s",
                 demo_users[p->practitioner].id);
        b.teleconsult = true;
        snprintf(b.patient.family, sizeof b.patient.family, "%s", p->family);
        snprintf(b.patient.given, sizeof b.patient.given, "%s", p->given);
        snprintf(b.patient.email, sizeof b.patient.email, "%s", p->email);
        int rc = care_apply_booking(c->st, &c->keys, &b, &policy, "cli:demo", now, &r);
        care_link l;
        if (rc == CC_OK)
            rc = care_link_of(c->st, r.appointment_id, &l);
        if (rc == CC_OK)
            rc = care_link_token(c->st, &c->keys, l.link_id, links[i]);
        if (rc != CC_OK)
            return rc;
    }
    return CC_OK;
}

static int demo_seed_tx(cli_ctx *c, void *ud)
{
    char(*links)[AUTH_LINK_TOKEN_LEN + 1] = ud;
    int64_t now = cc_now_ms(), n = 0;
    int rc = store_query_int(c->st, "SELECT COUNT(*) FROM users", NULL, 0, &n);
    if (rc != CC_OK)
        return rc;
    if (n > 0) {
        fprintf(stderr, "carecomm: demo seed fills an empty store only; this one has %lld users\n",
                (long long)n);
        return CC_ERR_EXISTS;
    }
    store_val m[] = {SV_TEXT("demo"), SV_TEXT("1")};
    if ((rc = store_exec(c->st, "INSERT INTO meta(key, value) VALUES (?, ?)", m, 2, NULL)) != CC_OK)
        return rc;
    for (size_t i = 0; i < NUSERS; i++)
        if ((rc = demo_user_tx(c, &demo_users[i])) != CC_OK)
            return rc;
    if ((rc = demo_messages(c, now)) != CC_OK || (rc = demo_bookings(c, now, links)) != CC_OK)
        return rc;
    return cli_audit(c, "demo.seed", NULL, json_pack("{s:i}", "users", (int)NUSERS));
}

static void demo_print(const cli_ctx *c, char links[][AUTH_LINK_TOKEN_LEN + 1])
{
    const char *pub = cc_config_str(c->cfg, "public_url");
    char base[300];
    if (pub && *pub)
        snprintf(base, sizeof base, "%s", pub);
    else
        snprintf(base, sizeof base, "https://%s", cc_config_str(c->cfg, "listen"));
    printf("A small hospital is ready. Every demo account's password: %s\n\n", DEMO_PASSWORD);
    for (size_t i = 0; i < NUSERS; i++)
        printf("  %-12s %-13s %s\n", demo_users[i].name, auth_role_name(demo_users[i].role),
               demo_users[i].display);
    printf("\n2FA is already set up; the code a login asks for: carecomm demo code USER\n\n"
           "Today's teleconsultations (patients' links, no account):\n");
    for (size_t i = 0; i < sizeof demo_patients / sizeof demo_patients[0]; i++)
        printf("  %s %-8s with %-10s %s/visit/%s\n", demo_patients[i].given,
               demo_patients[i].family, demo_users[demo_patients[i].practitioner].name, base,
               links[i]);
}

/* The current 2FA code of a demo user (a store seeded by `demo seed` only). */
static int demo_code(cli_ctx *c, const char *name)
{
    char *flag = NULL, *plain = NULL, code[7];
    auth_user u;
    auth_user_secrets sec;
    memset(&sec, 0, sizeof sec);
    store_val m[] = {SV_TEXT("demo")};
    int rc = store_query_text(c->st, "SELECT value FROM meta WHERE key = ?", m, 1, &flag);
    if (rc != CC_OK || !flag || strcmp(flag, "1") != 0) {
        fprintf(stderr, "carecomm: demo code works only in a store made by `carecomm demo seed`\n");
        cc_free(&flag);
        return 2;
    }
    cc_free(&flag);
    if (auth_user_get(c->st, NULL, name, &u) != CC_OK ||
        auth_user_get_secrets(c->st, u.id, &sec) != CC_OK || !sec.totp_sealed ||
        auth_secret_open(&c->keys, u.id, sec.totp_sealed, &plain, NULL) != CC_OK) {
        fprintf(stderr, "carecomm: no demo user '%s' with 2FA\n", name);
        auth_user_secrets_clear(&sec);
        return 1;
    }
    int64_t secs = (int64_t)time(NULL);
    rc = auth_totp_code(plain, secs / 30, code);
    sodium_memzero(plain, strlen(plain));
    cc_free(&plain);
    auth_user_secrets_clear(&sec);
    if (rc != CC_OK)
        return 1;
    printf("%s (valid for %lld more seconds)\n", code, (long long)(30 - secs % 30));
    return 0;
}

int cli_demo_cmd(cli_ctx *c, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "seed") == 0) {
        char links[sizeof demo_patients / sizeof demo_patients[0]][AUTH_LINK_TOKEN_LEN + 1];
        const char *why = NULL;
        for (size_t i = 0; i < NUSERS; i++)
            if (auth_password_hash(DEMO_PASSWORD, demo_users[i].hash) != CC_OK)
                why = "password hashing failed";
        if (why || cli_open(c) != CC_OK) {
            if (why)
                fprintf(stderr, "carecomm: %s\n", why);
            return 1;
        }
        int rc = cli_tx(c, demo_seed_tx, links);
        if (rc != CC_OK) {
            if (rc != CC_ERR_EXISTS)
                fprintf(stderr, "carecomm: demo seed failed: %s (%s)\n", cc_strerror(rc),
                        store_errmsg(c->st));
            return 1;
        }
        demo_print(c, links);
        return 0;
    }
    if (argc == 2 && strcmp(argv[0], "code") == 0) {
        if (cli_open(c) != CC_OK)
            return 1;
        return demo_code(c, argv[1]);
    }
    fprintf(stderr, "carecomm: demo seed | demo code USER\n");
    return 2;
}

/* auth/perm: the one table that says which role holds which permission, and the names roles and
 * permissions have in the API, the database and the CLI. */
#include "auth/auth.h"

#include <string.h>

#define P(x) (1u << (x))

/* Admins administer accounts and the audit chain; they do not treat patients, so they do not
 * get PERM_PATIENT_READ. Adding a permission to a role is a one-line change here and nowhere
 * else (the 2FA requirement follows from this table). */
static const struct {
    const char *name;
    unsigned perms;
} roles[ROLE__COUNT] = {
    [ROLE_ADMIN] = {"admin", P(PERM_SELF) | P(PERM_EVENTS) | P(PERM_USERS_READ) |
                                 P(PERM_USERS_WRITE) | P(PERM_AUDIT_READ) | P(PERM_MESSAGES) |
                                 P(PERM_MEETINGS)},
    [ROLE_PRACTITIONER] = {"practitioner", P(PERM_SELF) | P(PERM_EVENTS) | P(PERM_PATIENT_READ) |
                                               P(PERM_MESSAGES) | P(PERM_MEETINGS) |
                                               P(PERM_BOOKINGS)},
    [ROLE_NURSE] = {"nurse", P(PERM_SELF) | P(PERM_EVENTS) | P(PERM_PATIENT_READ) |
                                 P(PERM_MESSAGES) | P(PERM_MEETINGS) | P(PERM_BOOKINGS)},
    [ROLE_SECRETARY] = {"secretary", P(PERM_SELF) | P(PERM_EVENTS) | P(PERM_PATIENT_READ) |
                                         P(PERM_MESSAGES) | P(PERM_MEETINGS) | P(PERM_BOOKINGS)},
    [ROLE_IT_SUPPORT] = {"it_support", P(PERM_SELF) | P(PERM_EVENTS) | P(PERM_USERS_READ) |
                                           P(PERM_MESSAGES) | P(PERM_MEETINGS)},
    /* Only the FHIR appointment routes: no account of its own to manage, no event stream, no
     * agenda, no messages. (Who may write appointments is checked in interop/fhir_api.c.) */
    [ROLE_BOOKING_SYSTEM] = {"booking_system", P(PERM_BOOKINGS)},
};

static const char *const perm_names[PERM__COUNT] = {
    [PERM_SELF] = "self",
    [PERM_EVENTS] = "events",
    [PERM_USERS_READ] = "users.read",
    [PERM_USERS_WRITE] = "users.write",
    [PERM_AUDIT_READ] = "audit.read",
    [PERM_PATIENT_READ] = "patient.read",
    [PERM_MESSAGES] = "messages",
    [PERM_MEETINGS] = "meetings",
    [PERM_BOOKINGS] = "bookings",
};

/* A stolen password alone must not open patient data, accounts or the audit trail. Messages
 * between staff carry patient data too (a ward's channel, a question about a patient), and so do
 * meetings (a teleconsultation shows the patient), so every role that can message or meet needs
 * the second factor: today that is every role. */
#define PERMS_NEEDING_TOTP                                                                         \
    (P(PERM_PATIENT_READ) | P(PERM_USERS_WRITE) | P(PERM_AUDIT_READ) | P(PERM_MESSAGES) |          \
     P(PERM_MEETINGS))

const char *auth_role_name(auth_role r)
{
    if ((unsigned)r >= ROLE__COUNT)
        return NULL;
    return roles[r].name;
}

int auth_role_parse(const char *s, auth_role *out)
{
    if (!s || !out)
        return CC_ERR_INVALID;
    for (unsigned i = 0; i < ROLE__COUNT; i++) {
        if (strcmp(s, roles[i].name) == 0) {
            *out = (auth_role)i;
            return CC_OK;
        }
    }
    return CC_ERR_INVALID;
}

const char *auth_perm_name(auth_perm p)
{
    if ((unsigned)p >= PERM__COUNT)
        return NULL;
    return perm_names[p];
}

int auth_perm_parse(const char *s, auth_perm *out)
{
    if (!s || !out)
        return CC_ERR_INVALID;
    for (unsigned i = 0; i < PERM__COUNT; i++) {
        if (strcmp(s, perm_names[i]) == 0) {
            *out = (auth_perm)i;
            return CC_OK;
        }
    }
    return CC_ERR_INVALID;
}

bool auth_role_has(auth_role r, auth_perm p)
{
    /* Out-of-range values come from corrupted rows or bugs: deny rather than index past. */
    if ((unsigned)r >= ROLE__COUNT || (unsigned)p >= PERM__COUNT)
        return false;
    return (roles[r].perms & P(p)) != 0;
}

bool auth_role_is_system(auth_role r)
{
    return r == ROLE_BOOKING_SYSTEM;
}

bool auth_role_requires_totp(auth_role r)
{
    /* Unknown roles fail closed: demand the second factor. */
    if ((unsigned)r >= ROLE__COUNT)
        return true;
    return (roles[r].perms & PERMS_NEEDING_TOTP) != 0;
}

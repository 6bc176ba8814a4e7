/* care/mail: the words of patient notifications (French and English) and their delivery: e-mail
 * through an SMTP relay (libcurl), SMS through an HTTP gateway, or a file in the outbox folder
 * when neither is configured. Sending blocks: callers run it on the thread pool. */
#include "care/care_internal.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- words --------------------------------------------------------------------------------- */

static const char *const days_fr[] = {"dimanche", "lundi",    "mardi", "mercredi",
                                      "jeudi",    "vendredi", "samedi"};
static const char *const months_fr[] = {"janvier",   "février", "mars",     "avril",
                                        "mai",       "juin",    "juillet",  "août",
                                        "septembre", "octobre", "novembre", "décembre"};
static const char *const days_en[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                      "Thursday", "Friday", "Saturday"};
static const char *const months_en[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};

/* "mardi 1 décembre 2026 à 10:00" in the hospital's time zone (TZ, set at start-up). */
static void care_when(int64_t ms, bool fr, char *out, size_t outlen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (fr)
        snprintf(out, outlen, "%s %d %s %d à %02d:%02d", days_fr[tm.tm_wday], tm.tm_mday,
                 months_fr[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
    else
        snprintf(out, outlen, "%s %d %s %d at %02d:%02d", days_en[tm.tm_wday], tm.tm_mday,
                 months_en[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

int care__notice_render(const care_outbox_item *it, const care_notice_opts *o, const char *url,
                        cc_buf *subject, cc_buf *body)
{
    bool fr = strcmp(o->lang, "en") != 0;
    char when[96];
    care_when(it->start_ms, fr, when, sizeof when);
    const char *who =
        it->practitioner[0] ? it->practitioner : (fr ? "votre soignant" : "your clinician");
    int rc = CC_OK;
    if (fr)
        rc |= cc_buf_appendf(body, "Bonjour %s %s,\n\n", it->given, it->family);
    else
        rc |= cc_buf_appendf(body, "Hello %s %s,\n\n", it->given, it->family);
    if (strcmp(it->kind, "cancel") == 0) {
        rc |= fr ? cc_buf_appendf(subject, "Téléconsultation annulée : %s", when)
                 : cc_buf_appendf(subject, "Teleconsultation cancelled: %s", when);
        rc |= fr ? cc_buf_appendf(body,
                                  "Votre téléconsultation du %s avec %s est annulée.\n"
                                  "Le lien que vous aviez reçu ne fonctionne plus.\n\n"
                                  "Pour un nouveau rendez-vous, contactez le secrétariat.\n",
                                  when, who)
                 : cc_buf_appendf(body,
                                  "Your teleconsultation of %s with %s is cancelled.\n"
                                  "The link you received no longer works.\n\n"
                                  "To book again, please call the secretariat.\n",
                                  when, who);
    } else {
        bool moved = strcmp(it->kind, "update") == 0;
        if (fr) {
            rc |= cc_buf_appendf(subject, "%s : %s avec %s",
                                 moved ? "Téléconsultation déplacée" : "Votre téléconsultation",
                                 when, who);
            rc |= cc_buf_appendf(body, "%s le %s avec %s.\n\n",
                                 moved ? "Votre téléconsultation a été déplacée. Elle aura lieu"
                                       : "Votre téléconsultation aura lieu",
                                 when, who);
            rc |= cc_buf_appendf(body,
                                 "Le jour venu, ouvrez ce lien sur un ordinateur, une tablette ou "
                                 "un téléphone équipé d'une caméra et d'un micro :\n\n%s\n\n"
                                 "La salle d'attente ouvre %d minutes avant le rendez-vous. Vous "
                                 "pouvez tester votre caméra, votre micro et votre connexion dès "
                                 "maintenant avec ce même lien.\n\n"
                                 "Ce lien est personnel : ne le transmettez à personne.\n",
                                 url, o->before_minutes);
        } else {
            rc |= cc_buf_appendf(subject, "%s: %s with %s",
                                 moved ? "Teleconsultation moved" : "Your teleconsultation", when,
                                 who);
            rc |= cc_buf_appendf(body, "%s on %s with %s.\n\n",
                                 moved ? "Your teleconsultation has been moved. It will take place"
                                       : "Your teleconsultation will take place",
                                 when, who);
            rc |= cc_buf_appendf(body,
                                 "On the day, open this link on a computer, tablet or phone with a "
                                 "camera and a microphone:\n\n%s\n\n"
                                 "The waiting room opens %d minutes before the appointment. You "
                                 "can test your camera, microphone and connection now with the "
                                 "same link.\n\n"
                                 "This link is personal: do not share it.\n",
                                 url, o->before_minutes);
        }
    }
    rc |= cc_buf_appendf(body, "\n%s\n", o->site);
    return rc ? CC_ERR_NOMEM : CC_OK;
}

/* ---- e-mail -------------------------------------------------------------------------------- */

/* RFC 2047 encoded word for a header holding UTF-8. */
static int care_header_utf8(cc_buf *out, const char *text)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)text;
    size_t n = strlen(text);
    int rc = cc_buf_appendf(out, "=?UTF-8?B?");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        rc |= cc_buf_append(out, q, 4);
    }
    rc |= cc_buf_appendf(out, "?=");
    return rc;
}

int care__mail_compose(const char *from, const char *to, const char *subject, const char *body,
                       const char *message_id, int64_t now_ms, cc_buf *out)
{
    char date[64];
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    int rc = cc_buf_appendf(out, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nMessage-ID: <%s>\r\n", date,
                            from, to, message_id);
    rc |= cc_buf_appendf(out, "Subject: ");
    rc |= care_header_utf8(out, subject);
    rc |=
        cc_buf_appendf(out, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                            "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"
                            "\r\n");
    /* CRLF line ends; a line starting with '.' is doubled by curl (SMTP dot-stuffing). */
    for (const char *p = body; *p; p++)
        rc |= *p == '\n' ? cc_buf_append(out, "\r\n", 2) : cc_buf_append(out, p, 1);
    return rc ? CC_ERR_NOMEM : CC_OK;
}

typedef struct {
    const cc_buf *msg;
    size_t at;
} care_upload;

static size_t care_read_msg(char *dst, size_t size, size_t nitems, void *ud)
{
    care_upload *u = ud;
    size_t room = size * nitems, left = u->msg->len - u->at;
    size_t n = left < room ? left : room;
    memcpy(dst, u->msg->data + u->at, n);
    u->at += n;
    return n;
}

int care__mail_send(const char *smtp_url, const char *from, const char *to, const cc_buf *msg,
                    char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    if (!c) {
        cc_say(err, errlen, "libcurl could not start");
        return CC_ERR_NOMEM;
    }
    care_upload u = {.msg = msg};
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, care_read_msg);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY); /* STARTTLS when offered */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode res = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    if (res != CURLE_OK) {
        cc_say(err, errlen, "SMTP: %s", curl_err[0] ? curl_err : curl_easy_strerror(res));
        return CC_ERR_IO;
    }
    return CC_OK;
}

/* ---- SMS ----------------------------------------------------------------------------------- */

static size_t care_discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

int care__sms_send(const char *gateway_url, const char *to, const char *text, char *err,
                   size_t errlen)
{
    json_t *j = json_pack("{s:s,s:s}", "to", to, "text", text);
    char *payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    CURL *c = payload ? curl_easy_init() : NULL;
    if (!c) {
        free(payload); /* jansson's allocator */
        cc_say(err, errlen, "out of memory");
        return CC_ERR_NOMEM;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    curl_easy_setopt(c, CURLOPT_URL, gateway_url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, care_discard);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode res = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(payload);
    if (res != CURLE_OK || status < 200 || status > 299) {
        cc_say(err, errlen, "SMS gateway: %s",
               res != CURLE_OK ? curl_easy_strerror(res) : "HTTP status not 2xx");
        return CC_ERR_IO;
    }
    return CC_OK;
}

/* interop/service: configuration, start and stop of the HL7 service (see interop.h). */
#include "interop/interop_service.h"

#include <stdio.h>
#include <string.h>

const cc_cfg_key interop_config_keys[] = {
    {"mllp_listen", CC_CFG_STRING, "", 0, 0, false,
     "host:port the HL7 v2 MLLP listener binds (e.g. 127.0.0.1:2575); empty = no listener"},
    {"mllp_allow", CC_CFG_STRING, "", 0, 0, false,
     "Comma list of addresses or CIDR blocks that may connect to MLLP; empty = any"},
    {"mllp_max_message_bytes", CC_CFG_INT, "1048576", 1024, 16777216, false,
     "Largest HL7 message accepted; a longer one is refused (AR) and the connection goes on"},
    {"mllp_idle_seconds", CC_CFG_INT, "300", 1, 86400, false,
     "An MLLP connection silent this long is closed"},
    {"mllp_tls", CC_CFG_BOOL, "false", 0, 0, false,
     "TLS on MLLP, with the HTTPS certificate (tls_cert/tls_key, or the development one)"},
    {"mllp_tls_client_ca", CC_CFG_STRING, "", 0, 0, false,
     "With mllp_tls: a PEM file of CAs; each MLLP client must then present a certificate they "
     "signed (mutual TLS); empty = no client certificate asked"},
    {"teleconsult_codes", CC_CFG_STRING, "TLC,TELECONSULTATION", 0, 0, false,
     "Codes in SCH-7, SCH-8, AIS-3 or AIL-3 that make a booking a teleconsultation (comma list)"},
    {"hl7_ack_content_error", CC_CFG_STRING, "AE", 0, 0, false,
     "ACK code for a message whose content is wrong (AE or AR: interface engines differ)"},
    {"hl7_ack_unsupported", CC_CFG_STRING, "AR", 0, 0, false,
     "ACK code for a message type, event or version carecomm does not handle (AE or AR)"},
    {"hl7_ack_unprocessable", CC_CFG_STRING, "AR", 0, 0, false,
     "ACK code for a message that cannot be read or stored (AE or AR)"},
    {"link_open_minutes_before", CC_CFG_INT, "60", 0, 10080, false,
     "A patient link opens this long before the appointment"},
    {"link_close_minutes_after", CC_CFG_INT, "120", 0, 10080, false,
     "A patient link stops working this long after the appointment's end"},
};
const size_t interop_config_keys_count =
    sizeof(interop_config_keys) / sizeof(interop_config_keys[0]);

static bool svc_ack_code_ok(const char *c)
{
    return c && (strcmp(c, "AE") == 0 || strcmp(c, "AR") == 0);
}

int interop_config_check(const cc_config *cfg, char *why, size_t whylen)
{
    static const char *const codes[] = {"hl7_ack_content_error", "hl7_ack_unsupported",
                                        "hl7_ack_unprocessable"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!svc_ack_code_ok(cc_config_str(cfg, codes[i]))) {
            cc_say(why, whylen, "%s must be AE or AR, not '%s'", codes[i],
                   cc_config_str(cfg, codes[i]));
            return CC_ERR_CONFIG;
        }
    return CC_OK;
}

static double svc_gauge(const interop_svc *s, int which)
{
    net_mllp_stats st = {0};
    if (s->mllp)
        net_mllp_get_stats(s->mllp, &st);
    switch (which) {
    case 0:
        return (double)s->stats.accepted;
    case 1:
        return (double)s->stats.refused;
    case 2:
        return (double)s->stats.duplicates;
    case 3:
        return (double)st.open_connections;
    default:
        return (double)st.refused_peers;
    }
}
static double svc_g_accepted(void *ud)
{
    return svc_gauge(ud, 0);
}
static double svc_g_refused(void *ud)
{
    return svc_gauge(ud, 1);
}
static double svc_g_duplicates(void *ud)
{
    return svc_gauge(ud, 2);
}
static double svc_g_open(void *ud)
{
    return svc_gauge(ud, 3);
}
static double svc_g_peers(void *ud)
{
    return svc_gauge(ud, 4);
}

static int svc_metrics(interop_svc *s, net_server *srv)
{
    int rc;
    if ((rc = net_metrics_add_counter(srv, "carecomm_hl7_accepted_total",
                                      "HL7 messages acknowledged AA", svc_g_accepted, s)) ||
        (rc = net_metrics_add_counter(srv, "carecomm_hl7_refused_total",
                                      "HL7 messages acknowledged AE or AR", svc_g_refused, s)) ||
        (rc = net_metrics_add_counter(srv, "carecomm_hl7_duplicates_total",
                                      "HL7 messages received again (same MSH-10), not reapplied",
                                      svc_g_duplicates, s)) ||
        (rc = net_metrics_add_gauge(srv, "carecomm_mllp_connections", "Open MLLP connections",
                                    svc_g_open, s)) ||
        (rc = net_metrics_add_counter(srv, "carecomm_mllp_refused_peers_total",
                                      "MLLP connections refused by mllp_allow", svc_g_peers, s)))
        return rc;
    return CC_OK;
}

int interop_start(uv_loop_t *loop, const cc_config *cfg, const auth_keys *keys, net_server *srv,
                  interop_svc **out, char *why, size_t whylen)
{
    *out = NULL;
    int rc = interop_config_check(cfg, why, whylen);
    if (rc != CC_OK)
        return rc;
    interop_svc *s = cc_calloc(1, sizeof *s);
    if (!s)
        return CC_ERR_NOMEM;
    s->keys = keys;
    s->max_message = (size_t)cc_config_int(cfg, "mllp_max_message_bytes");
    s->utc_offset_min = HL7_LOCAL_TZ; /* times without offset: the hospital's (timezone) */
    s->policy.link_before_ms = cc_config_int(cfg, "link_open_minutes_before") * 60000;
    s->policy.link_after_ms = cc_config_int(cfg, "link_close_minutes_after") * 60000;
    snprintf(s->ack_content, sizeof s->ack_content, "%s",
             cc_config_str(cfg, "hl7_ack_content_error"));
    snprintf(s->ack_unsupported, sizeof s->ack_unsupported, "%s",
             cc_config_str(cfg, "hl7_ack_unsupported"));
    snprintf(s->ack_unprocessable, sizeof s->ack_unprocessable, "%s",
             cc_config_str(cfg, "hl7_ack_unprocessable"));
    const char *codes = cc_config_str(cfg, "teleconsult_codes");
    s->tlc_codes = cc_strdup(codes && *codes ? codes : "TLC,TELECONSULTATION");
    if (!s->tlc_codes) {
        interop_free(s);
        return CC_ERR_NOMEM;
    }
    const char *listen = cc_config_str(cfg, "mllp_listen");
    if (listen && *listen) {
        net_mllp_opts o = {.max_message = s->max_message,
                           .idle_timeout_ms = (int)cc_config_int(cfg, "mllp_idle_seconds") * 1000,
                           .allow = cc_config_str(cfg, "mllp_allow")};
        char *cert = NULL, *key = NULL, reason[300] = "";
        if (cc_config_bool(cfg, "mllp_tls")) {
            const char *c = cc_config_str(cfg, "tls_cert"), *k = cc_config_str(cfg, "tls_key");
            const char *dir = cc_config_str(cfg, "data_dir");
            cert = c && *c ? cc_strdup(c) : cc_sprintf("%s/tls/dev-cert.pem", dir);
            key = c && *c ? cc_strdup(k ? k : "") : cc_sprintf("%s/tls/dev-key.pem", dir);
            o.tls_cert = cert;
            o.tls_key = key;
            o.tls_client_ca = cc_config_str(cfg, "mllp_tls_client_ca");
        }
        rc = net_mllp_listen(loop, listen, &o, interop__on_mllp_message, s, &s->mllp, reason,
                             sizeof reason);
        cc_free(&cert);
        cc_free(&key);
        if (rc != CC_OK) {
            cc_say(why, whylen, "mllp_listen: %s", reason);
            interop_free(s);
            return rc;
        }
        cc_logf(CC_LOG_INFO, "HL7 MLLP listener ready", "{s:s,s:i,s:b}", "listen", listen, "port",
                net_mllp_port(s->mllp), "tls", cc_config_bool(cfg, "mllp_tls"));
    }
    s->public_url = cc_strdup(net_server_public_url(srv));
    if (!s->public_url ||
        (rc = net_server_add_routes(srv, interop_fhir_routes, interop_fhir_routes_count, s)) !=
            CC_OK ||
        (rc = svc_metrics(s, srv)) != CC_OK) {
        interop_stop(s);
        interop_free(s);
        return rc;
    }
    *out = s;
    return CC_OK;
}

void interop_set_worker(interop_svc *s, store_worker *w)
{
    s->worker = w;
}

int interop_mllp_port(const interop_svc *s)
{
    return s && s->mllp ? net_mllp_port(s->mllp) : 0;
}

void interop_stop(interop_svc *s)
{
    if (!s)
        return;
    net_mllp_close(s->mllp);
    s->worker = NULL; /* messages still arriving are refused with AR */
}

void interop_free(interop_svc *s)
{
    if (!s)
        return;
    net_mllp_free(s->mllp);
    cc_free(&s->tlc_codes);
    cc_free(&s->public_url);
    cc_free_ptr(s);
}

/* First-run development certificate: a self-signed ECDSA P-256 certificate for localhost,
 * written once into <data_dir>/tls/ and reused afterwards. Production configures tls_cert. */
#include "net/net_internal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int net__add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return CC_ERR_CRYPTO;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? CC_OK : CC_ERR_CRYPTO;
}

static int net__write_pem(const char *path, EVP_PKEY *key, X509 *cert)
{
    int rc = CC_ERR_IO;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    if (!bio)
        return CC_ERR_NOMEM;
    if (key ? !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
            : !PEM_write_bio_X509(bio, cert))
        goto out;
    long n = BIO_get_mem_data(bio, &data);
    rc = cc_file_write_atomic(path, data, (size_t)n, key ? 0600 : 0644);
out:
    BIO_free(bio);
    return rc;
}

static int net__generate(const char *cert_path, const char *key_path)
{
    int rc = CC_ERR_CRYPTO;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    if (!key || !cert)
        goto out;
    cc_random_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    if (!(bn = BN_bin2bn(serial, sizeof(serial), NULL)) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
        goto out;
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 60L * 60 * 24 * 397);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"carecomm development", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    if (net__add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") != CC_OK ||
        net__add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") != CC_OK ||
        net__add_ext(cert, NID_ext_key_usage, "serverAuth") != CC_OK)
        goto out;
    if (!X509_sign(cert, key, EVP_sha256()))
        goto out;
    if ((rc = net__write_pem(key_path, key, NULL)) != CC_OK)
        goto out;
    rc = net__write_pem(cert_path, NULL, cert);
out:
    BN_free(bn);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

int net__tls_ensure_dev_cert(const char *data_dir, char **cert_path, char **key_path, char *why,
                             size_t whylen)
{
    int rc = CC_ERR_NOMEM;
    char *dir = cc_sprintf("%s/tls", data_dir);
    *cert_path = cc_sprintf("%s/tls/dev-cert.pem", data_dir);
    *key_path = cc_sprintf("%s/tls/dev-key.pem", data_dir);
    if (!dir || !*cert_path || !*key_path)
        goto fail;
    if (access(*cert_path, R_OK) == 0 && access(*key_path, R_OK) == 0) {
        cc_free(&dir);
        return CC_OK;
    }
    if ((rc = cc_mkdir_p(dir)) != CC_OK) {
        snprintf(why, whylen, "tls: cannot create %s", dir);
        goto fail;
    }
    if ((rc = net__generate(*cert_path, *key_path)) != CC_OK) {
        snprintf(why, whylen, "tls: cannot generate the development certificate (%s)",
                 cc_strerror(rc));
        goto fail;
    }
    cc_logf(CC_LOG_WARN, "generated a self-signed development certificate", "{s:s}", "path",
            *cert_path);
    cc_free(&dir);
    return CC_OK;
fail:
    cc_free(&dir);
    cc_free(cert_path);
    cc_free(key_path);
    return rc;
}

bool net__tls_ciphersuites_valid(const char *list)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    bool ok = ctx && list && *list && SSL_CTX_set_ciphersuites(ctx, list) == 1;
    SSL_CTX_free(ctx);
    return ok;
}

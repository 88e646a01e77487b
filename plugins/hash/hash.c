/* hash: digests of the files named by the inputs, in the format of
 * sha256sum / md5sum, so that `find dir -type f | taskpool hash:sha256`
 * can be checked with `sha256sum -c`.  The digests come from OpenSSL's
 * libcrypto (EVP): a well-kept library every Debian system already has,
 * with hardware SHA where the CPU offers it; no hand-written digest. */
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <taskpool/plugin.h>

#define BLOCK (64 * 1024)

static int digest(tp_ctx *ctx, const char *in, size_t len, const EVP_MD *md)
{
    static char buf[BLOCK]; /* one task at a time per worker */
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int fd, ok = 0;
    if (memchr(in, '\0', len))
        return tp_fail(ctx, "file name contains a NUL byte");
    if ((fd = open(in, O_RDONLY | O_CLOEXEC)) < 0)
        return tp_fail(ctx, "%s", strerror(errno));
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c && EVP_DigestInit_ex(c, md, NULL) == 1) {
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR))
            if (r > 0 && EVP_DigestUpdate(c, buf, (size_t)r) != 1)
                break;
        if (r < 0) {
            int e = errno;
            EVP_MD_CTX_free(c);
            close(fd);
            return tp_fail(ctx, "%s", strerror(e));
        }
        ok = r == 0 && EVP_DigestFinal_ex(c, sum, &n) == 1;
    }
    EVP_MD_CTX_free(c);
    close(fd);
    if (!ok)
        return tp_fail(ctx, "digest failed");
    /* like sha256sum: a name with a backslash or newline is escaped and
     * the line starts with a backslash */
    int escape = memchr(in, '\\', len) || memchr(in, '\n', len) ||
                 memchr(in, '\r', len);
    if (escape && tp_puts(ctx, "\\") != TP_OK)
        return TP_FAIL;
    for (unsigned i = 0; i < n; i++)
        if (tp_printf(ctx, "%02x", sum[i]) != TP_OK)
            return TP_FAIL;
    if (tp_puts(ctx, "  ") != TP_OK)
        return TP_FAIL;
    if (!escape)
        return tp_append(ctx, in, len);
    for (size_t i = 0; i < len; i++) {
        const char *s = in[i] == '\\'   ? "\\\\"
                        : in[i] == '\n' ? "\\n"
                        : in[i] == '\r' ? "\\r"
                                        : NULL;
        if (s ? tp_puts(ctx, s) : tp_append(ctx, in + i, 1))
            return TP_FAIL;
    }
    return TP_OK;
}

static int task_sha256(tp_ctx *ctx, const char *in, size_t len)
{
    return digest(ctx, in, len, EVP_sha256());
}

static int task_md5(tp_ctx *ctx, const char *in, size_t len)
{
    return digest(ctx, in, len, EVP_md5());
}

static const struct tp_task hash_tasks[] = {
    {"sha256", "SHA-256 of the file named by the input (sha256sum format)",
     task_sha256},
    {"md5", "MD5 of the file named by the input (md5sum format)", task_md5},
    {NULL, NULL, NULL},
};

/* it reads the files its inputs name: under --sandbox, only with
 * --allow-read */
TASKPOOL_PLUGIN_FLAGS("hash", TP_PACKAGE_VERSION, hash_tasks, NULL, NULL,
                      TP_PLUGIN_READS_FILES)

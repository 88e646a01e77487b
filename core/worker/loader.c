/* Finds plugins on the search path (without opening them: that is for
 * workers and probes), opens them with libltdl and checks the ABI stamp
 * before anything in them is called. */
#include "worker/loader.h"

#include "common/errtext.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tp__name_valid(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* struct tp_plugin as ABI 1.0 laid it out, frozen: a minor only appends
 * fields, so a plugin built against an older minor of this major has a
 * shorter descriptor whose fields are a prefix of today's.  When minor N
 * appends fields to struct tp_plugin, freeze minor N-1's layout the same
 * way (unless N-1 is 0: this struct), check it below, and add minor N's
 * line, sizeof(struct tp_plugin), to plugin_size[]. */
struct tp_plugin_1_0 {
    uint32_t magic;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t size;
    const char *name;
    const char *version;
    const struct tp_task *tasks;
    int (*init)(tp_ctx *ctx, const char *arg);
    void (*fini)(void);
};

#define TP_SAME_FIELD(F)                                                      \
    _Static_assert(offsetof(struct tp_plugin_1_0, F) ==                       \
                   offsetof(struct tp_plugin, F) &&                           \
                   sizeof(((struct tp_plugin_1_0 *)0)->F) ==                  \
                   sizeof(((struct tp_plugin *)0)->F),                        \
                   "struct tp_plugin must begin with the 1.0 layout: " #F)
TP_SAME_FIELD(magic);
TP_SAME_FIELD(abi_major);
TP_SAME_FIELD(abi_minor);
TP_SAME_FIELD(size);
TP_SAME_FIELD(name);
TP_SAME_FIELD(version);
TP_SAME_FIELD(tasks);
TP_SAME_FIELD(init);
TP_SAME_FIELD(fini);
#undef TP_SAME_FIELD

/* The size a descriptor of each minor of TASKPOOL_ABI_MAJOR has: a plugin
 * declaring minor M (M <= TASKPOOL_ABI_MINOR) must have plugin_size[M].
 * The last line is the size of today's struct tp_plugin (test-loader
 * checks it). */
static const size_t plugin_size[] = {
    sizeof(struct tp_plugin_1_0), /* 1.0 */
    sizeof(struct tp_plugin),     /* 1.1: flags */
};
_Static_assert(sizeof plugin_size / sizeof plugin_size[0] ==
               TASKPOOL_ABI_MINOR + 1,
               "plugin_size[] needs one line per minor of this major");
_Static_assert(offsetof(struct tp_plugin, flags) >=
                   sizeof(struct tp_plugin_1_0),
               "1.1 appends flags after the 1.0 layout");

uint32_t tp__loader_flags(const struct tp_plugin *d)
{
    return d->abi_minor >= 1 ? d->flags : 0;
}

int tp__loader_check(const struct tp_plugin *d, const char *file, char *err,
                    size_t errlen)
{
    if (!d) {
        snprintf(err, errlen, "%s: not a taskpool plugin (taskpool_plugin() "
                 "returned NULL)", file);
        return -1;
    }
    if (d->magic != TASKPOOL_ABI_MAGIC) {
        snprintf(err, errlen, "%s: not a taskpool plugin (ABI magic 0x%08x, "
                 "expected 0x%08x)", file, (unsigned)d->magic,
                 (unsigned)TASKPOOL_ABI_MAGIC);
        return -1;
    }
    if (d->abi_major != TASKPOOL_ABI_MAJOR ||
        d->abi_minor > TASKPOOL_ABI_MINOR) {
        snprintf(err, errlen, "%s: ABI mismatch: plugin was built for "
                 "taskpool ABI %u.%u, this taskpool has ABI %u.%u; rebuild the "
                 "plugin against this taskpool", file, (unsigned)d->abi_major,
                 (unsigned)d->abi_minor, TASKPOOL_ABI_MAJOR,
                 TASKPOOL_ABI_MINOR);
        return -1;
    }
    /* only the fields of the plugin's minor exist: read no others */
    if (d->size != plugin_size[d->abi_minor]) {
        snprintf(err, errlen, "%s: malformed descriptor: size %u, expected "
                 "%zu for ABI %u.%u", file, (unsigned)d->size,
                 plugin_size[d->abi_minor], (unsigned)d->abi_major,
                 (unsigned)d->abi_minor);
        return -1;
    }
    if (tp__loader_flags(d) & ~TP_PLUGIN_FLAGS_KNOWN) {
        snprintf(err, errlen, "%s: malformed descriptor: unknown flags 0x%x "
                 "for ABI %u.%u", file,
                 (unsigned)(tp__loader_flags(d) & ~TP_PLUGIN_FLAGS_KNOWN),
                 (unsigned)d->abi_major, (unsigned)d->abi_minor);
        return -1;
    }
    if (!d->name || !d->version || !d->tasks) {
        snprintf(err, errlen, "%s: malformed descriptor: name, version or "
                 "task table is NULL", file);
        return -1;
    }
    size_t i;
    for (i = 0; d->tasks[i].name; i++) {
        const struct tp_task *t = &d->tasks[i];
        if (!tp__name_valid(t->name, strlen(t->name)) || !t->run) {
            snprintf(err, errlen, "%s: malformed descriptor: task %zu ('%s') "
                     "has a bad name or no function", file, i + 1, t->name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->tasks[j].name, t->name)) {
                snprintf(err, errlen, "%s: malformed descriptor: two tasks "
                         "are named '%s'", file, t->name);
                return -1;
            }
    }
    if (i == 0) {
        snprintf(err, errlen, "%s: malformed descriptor: no tasks", file);
        return -1;
    }
    return 0;
}

typedef const struct tp_plugin *(*desc_fn)(void);

/* A symbol as a function: ISO C has no cast from object pointers to
 * function pointers; POSIX guarantees the representation is the same. */
static desc_fn sym_fn(void *sym)
{
    desc_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    return fn;
}

/* "cannot load FILE: WHY", whether or not dlerror() named the file. */
static void dl_error(const char *file, char *err, size_t errlen)
{
    const char *e = dlerror();
    size_t n = strlen(file);
    if (!e)
        e = "unknown error";
    if (!strncmp(e, file, n) && e[n] == ':')
        snprintf(err, errlen, "cannot load %s", e);
    else
        snprintf(err, errlen, "cannot load %s: %s", file, e);
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static int plugin_in(const char *dir, const char *name)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s.la", dir, name);
    if (exists(p))
        return 1;
    snprintf(p, sizeof p, "%s/%s.so", dir, name);
    return exists(p);
}

/* The shared object a libtool archive names: its dlname, beside the .la
 * (installed) or in .libs/ (a build tree), as libltdl looks for it. */
static char *la_object(const char *la)
{
    FILE *f = fopen(la, "r");
    if (!f)
        return NULL; /* errno says why */
    char line[4096], name[4096] = "";
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "dlname='%4095[^']'", name) == 1)
            break;
    fclose(f);
    errno = 0;
    if (!name[0] || strchr(name, '/'))
        return NULL;
    const char *slash = strrchr(la, '/');
    int dir = slash ? (int)(slash - la + 1) : 0;
    char p[8192];
    snprintf(p, sizeof p, "%.*s%s", dir, la, name);
    if (!exists(p))
        snprintf(p, sizeof p, "%.*s.libs/%s", dir, la, name);
    return exists(p) ? realpath(p, NULL) : NULL;
}

static int is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* path as libltdl's lt_dlopenext takes it: with .la, with .so, then as
 * given.  The shared object, or NULL with errno 0 (none there) or what
 * kept it from being read (EMFILE: no descriptor left, ...). */
static char *object_for(const char *path)
{
    errno = 0;
    static const char *const ext[] = {".la", ".so", ""};
    for (size_t i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        size_t n = strlen(p);
        if (!is_file(p))
            continue;
        if (n > 3 && !strcmp(p + n - 3, ".la"))
            return la_object(p);
        return realpath(p, NULL);
    }
    errno = 0;
    return NULL;
}

/* path's object, or -1 with why: not there (-1), or the system would not
 * let it be read (-2: out of descriptors, ...). */
static int find_object(const char *path, char **file, char *err,
                       size_t errlen)
{
    if ((*file = object_for(path)))
        return 0;
    if (errno && errno != ENOENT && errno != ENOTDIR) {
        snprintf(err, errlen, "cannot load %s: %s", path, tp__errtext(errno));
        return errno == EMFILE || errno == ENFILE || errno == ENOMEM ? -2
                                                                     : -1;
    }
    snprintf(err, errlen, "cannot load %s: file not found", path);
    return -1;
}

int tp__loader_resolve(const char *name, const char *const *dirs, char **file,
                      char *err, size_t errlen)
{
    *file = NULL;
    if (strchr(name, '/'))
        return find_object(name, file, err, errlen);
    if (!tp__name_valid(name, strlen(name))) {
        snprintf(err, errlen, "invalid plugin name '%s' (letters, digits, "
                 "'_' and '-' only; a path must contain '/')", name);
        return -1;
    }
    for (size_t i = 0; dirs && dirs[i]; i++) {
        if (!plugin_in(dirs[i], name))
            continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dirs[i], name);
        return find_object(p, file, err, errlen);
    }
    size_t used = (size_t)snprintf(err, errlen, "plugin '%s' not found "
                                   "(searched:", name);
    for (size_t i = 0; dirs && dirs[i] && used < errlen; i++)
        used += (size_t)snprintf(err + used, errlen - used, "%s %s",
                                 i ? "," : "", dirs[i]);
    if (used < errlen)
        snprintf(err + used, errlen - used, ")");
    return -1;
}

static void at_stage(int32_t *stage, int32_t s)
{
    __atomic_store_n(stage, s, __ATOMIC_RELEASE);
}

int tp__loader_open_now(const char *file, struct tp__loaded *out,
                       int32_t *stage, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    at_stage(stage, 1); /* TP_STAGE_LOAD: constructors run */
    /* libltdl binds lazily: bind everything first, so that a missing
     * function is named now instead of killing the worker at its first
     * call; libltdl's own open then finds the object already loaded (and
     * bound: the bindings stay when this first handle goes) */
    void *now = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!now) {
        dl_error(file, err, errlen);
        return -1;
    }
    if (lt_dlinit() != 0) {
        snprintf(err, errlen, "cannot initialise libltdl: %s", lt_dlerror());
        dlclose(now);
        return -1;
    }
    lt_dlhandle h = lt_dlopen(file);
    dlclose(now);
    if (!h) {
        const char *e = lt_dlerror();
        snprintf(err, errlen, "cannot load %s: %s", file,
                 e ? e : "unknown error");
        lt_dlexit();
        return -1;
    }
    desc_fn fn = sym_fn(lt_dlsym(h, "taskpool_plugin"));
    const struct tp_plugin *d = NULL;
    if (!fn) {
        snprintf(err, errlen, "%s: not a taskpool plugin (no taskpool_plugin "
                 "symbol; declare it with TASKPOOL_PLUGIN)", file);
    } else {
        at_stage(stage, 2); /* TP_STAGE_DESCRIBE */
        d = fn();
        at_stage(stage, 3); /* TP_STAGE_CHECK */
        if (tp__loader_check(d, file, err, errlen) != 0)
            d = NULL;
        else if (!(out->file = strdup(file)))
            snprintf(err, errlen, "out of memory");
    }
    if (!d || !out->file) {
        lt_dlclose(h);
        lt_dlexit();
        return -1;
    }
    out->handle = h;
    out->desc = d;
    return 0;
}

const struct tp_task *tp__loader_task(const struct tp__loaded *l,
                                     const char *name, char *err,
                                     size_t errlen)
{
    const struct tp_task *t = l->desc->tasks;
    for (size_t i = 0; t[i].name; i++)
        if (!strcmp(t[i].name, name))
            return &t[i];
    size_t used = (size_t)snprintf(err, errlen, "plugin '%s' has no task '%s' "
                                   "(tasks:", l->desc->name, name);
    for (size_t i = 0; t[i].name && used < errlen; i++)
        used += (size_t)snprintf(err + used, errlen - used, "%s %s",
                                 i ? "," : "", t[i].name);
    if (used < errlen)
        snprintf(err + used, errlen - used, ")");
    return NULL;
}

void tp__loader_close(struct tp__loaded *l)
{
    if (l->handle) {
        lt_dlclose((lt_dlhandle)l->handle);
        lt_dlexit();
    }
    free(l->file);
    memset(l, 0, sizeof *l);
}

/* Plugin names (file stems of *.la, else *.so) in one directory, sorted. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int seen_before(const char *const *dirs, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (plugin_in(dirs[i], name))
            return 1;
    return 0;
}

int tp__loader_each(const char *const *dirs,
                   int (*cb)(void *arg, const char *name, const char *dir),
                   void *arg)
{
    for (size_t d = 0; dirs && dirs[d]; d++) {
        DIR *dp = opendir(dirs[d]);
        if (!dp)
            continue;
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *e;
        while ((e = readdir(dp))) {
            size_t len = strlen(e->d_name);
            if (len < 4 || (strcmp(e->d_name + len - 3, ".la") &&
                            strcmp(e->d_name + len - 3, ".so")))
                continue;
            if (!tp__name_valid(e->d_name, len - 3))
                continue;
            char *stem = strndup(e->d_name, len - 3);
            if (!stem)
                continue;
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= !strcmp(names[i], stem);
            if (dup || seen_before(dirs, d, stem)) {
                free(stem);
                continue;
            }
            if (n == cap) {
                char **nn = realloc(names, (cap = cap ? 2 * cap : 16) *
                                               sizeof *names);
                if (!nn) {
                    free(stem);
                    break;
                }
                names = nn;
            }
            names[n++] = stem;
        }
        closedir(dp);
        if (n)
            qsort(names, n, sizeof *names, cmp_str);
        int r = 0;
        for (size_t i = 0; i < n; i++) {
            if (r == 0)
                r = cb(arg, names[i], dirs[d]);
            free(names[i]);
        }
        free(names);
        if (r)
            return r;
    }
    return 0;
}

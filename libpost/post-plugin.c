/* post-plugin.c: finding, opening and checking stack plugins
 *
 * The registry (post-registry.c) owns what is loaded; this file knows
 * where plugins are, how their descriptor is found and checked, and how
 * the environment overrides ranks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE /* dladdr() */
#include "config.h"

#include "post-stacks-private.h"

#include <glib/gstdio.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#define DESCRIPTOR_SYMBOL "post_plugin_descriptor"

/* As GIO does for GIO_EXTRA_MODULES: a setuid or setgid program must not
 * load code from directories its caller chose. */
gboolean
_post_plugin_environment_is_trusted (void)
{
  return getauxval (AT_SECURE) == 0;
}

/* Where libpost itself was installed, when that is not the prefix it was
 * configured for (a relocated or unpacked tree, as GIO finds its modules
 * from its own location): the prefix is the directory of libpost-1.so less
 * the configured libdir.  NULL when libpost is where it was configured, or
 * not in an installed layout at all (a build tree). */
static const char *
relocated_prefix (void)
{
  static gsize initialized;
  static char *prefix;

  if (g_once_init_enter (&initialized))
    {
      Dl_info info;
      const char *libdir_rel = POST_LIBDIR_RELATIVE;

      if (dladdr ((const void *) relocated_prefix, &info) != 0 && info.dli_fname != NULL
          && !g_path_is_absolute (libdir_rel))
        {
          g_autofree char *real = realpath (info.dli_fname, NULL);
          g_autofree char *dir = real ? g_path_get_dirname (real) : NULL;
          g_autofree char *suffix = g_strconcat (G_DIR_SEPARATOR_S, libdir_rel, NULL);

          if (dir != NULL && g_str_has_suffix (dir, suffix))
            {
              g_autofree char *found = g_strndup (dir, strlen (dir) - strlen (suffix));
              g_autofree char *configured = realpath (POST_PREFIX, NULL);

              if (*found == '\0')
                {
                  g_free (found);
                  found = g_strdup (G_DIR_SEPARATOR_S);
                }
              if (configured == NULL || strcmp (configured, found) != 0)
                prefix = g_steal_pointer (&found);
            }
        }
      g_once_init_leave (&initialized, 1);
    }
  return prefix;
}

char *
_post_get_install_dir (const char *configured)
{
  const char *prefix = relocated_prefix ();
  size_t n = strlen (POST_PREFIX);

  /* Only what lies under the configured prefix moves with it: /etc stays
   * /etc for a /usr prefix. */
  if (prefix != NULL && strncmp (configured, POST_PREFIX, n) == 0
      && (configured[n] == G_DIR_SEPARATOR || configured[n] == '\0'))
    return g_build_filename (prefix, configured + n, NULL);
  return g_strdup (configured);
}

static const char *
trusted_getenv (const char *variable)
{
  if (!_post_plugin_environment_is_trusted ())
    return NULL;
  return g_getenv (variable);
}

char **
_post_plugin_get_search_path (void)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  const char *user_path = trusted_getenv ("POST_PLUGIN_PATH");
  const char *system_path = trusted_getenv ("POST_PLUGIN_SYSTEM_PATH");
  char **path;

  if (user_path != NULL)
    {
      g_auto(GStrv) dirs = g_strsplit (user_path, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; dirs[i] != NULL; i++)
        if (*dirs[i] != '\0')
          g_strv_builder_add (builder, dirs[i]);
    }

  if (system_path == NULL)
    {
      g_autofree char *plugin_dir = _post_get_install_dir (POST_PLUGIN_DIR);

      g_strv_builder_add (builder, plugin_dir);
    }
  else if (*system_path != '\0')
    g_strv_builder_add (builder, system_path);

  path = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return path;
}

static gboolean
parse_rank (const char *text,
            guint      *rank)
{
  static const struct { const char *nick; guint rank; } nicks[] = {
    { "none", POST_RANK_NONE },
    { "marginal", POST_RANK_MARGINAL },
    { "secondary", POST_RANK_SECONDARY },
    { "primary", POST_RANK_PRIMARY },
  };
  guint64 number;

  for (guint i = 0; i < G_N_ELEMENTS (nicks); i++)
    {
      if (g_ascii_strcasecmp (text, nicks[i].nick) == 0)
        {
          *rank = nicks[i].rank;
          return TRUE;
        }
    }

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &number, NULL))
    return FALSE;

  *rank = (guint) number;
  return TRUE;
}

/* POST_STACK_RANK=tcp:300,udp:0,quic:primary; the last entry for a name
 * wins.  Read once per process, so that malformed entries warn once. */
static GHashTable *
parse_rank_overrides (void)
{
  GHashTable *overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *value = trusted_getenv ("POST_STACK_RANK");
  g_auto(GStrv) entries = NULL;

  if (value == NULL || *value == '\0')
    return overrides;

  entries = g_strsplit (value, ",", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      char *entry = g_strstrip (entries[i]);
      char *colon = strrchr (entry, ':');
      guint rank;

      if (colon == NULL)
        {
          if (*entry != '\0')
            g_warning ("POST_STACK_RANK: ignoring ‘%s’: expected ‘name:rank’", entry);
          continue;
        }

      *colon = '\0';
      g_strstrip (entry);
      if (*entry == '\0' || !parse_rank (g_strstrip (colon + 1), &rank))
        {
          g_warning ("POST_STACK_RANK: ignoring ‘%s:%s’: expected ‘name:rank’ with a number "
                     "or none, marginal, secondary, primary", entry, colon + 1);
          continue;
        }

      g_hash_table_insert (overrides, g_strdup (entry), GUINT_TO_POINTER (rank + 1));
    }

  return overrides;
}

gboolean
_post_plugin_get_rank_override (const char *stack_name,
                                guint      *rank)
{
  static gsize initialized = 0;
  static GHashTable *overrides = NULL;
  gpointer value;

  g_return_val_if_fail (stack_name != NULL, FALSE);
  g_return_val_if_fail (rank != NULL, FALSE);

  if (g_once_init_enter (&initialized))
    {
      overrides = parse_rank_overrides ();
      g_once_init_leave (&initialized, 1);
    }

  /* Values are rank + 1 so that a rank of 0 is not NULL */
  value = g_hash_table_lookup (overrides, stack_name);
  if (value == NULL)
    return FALSE;

  *rank = GPOINTER_TO_UINT (value) - 1;
  return TRUE;
}

/* Reads exactly @size bytes at @offset, or fails */
static gboolean
read_at (int      fd,
         void    *buffer,
         gsize    size,
         guint64  offset)
{
  guint8 *p = buffer;

  while (size > 0)
    {
      ssize_t n = pread (fd, p, size, (off_t) offset);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      size -= (gsize) n;
      offset += (guint64) n;
    }

  return TRUE;
}

/* Whether [offset, offset + length) lies within a file of @file_size bytes */
static gboolean
range_in_file (guint64 offset,
               guint64 length,
               guint64 file_size)
{
  return offset <= file_size && length <= file_size - offset;
}

/* The ELF machine of the running libpost itself: a plugin for another
 * machine could not be loaded anyway */
static guint16
native_machine (void)
{
  Dl_info info;

  if (dladdr ((void *) native_machine, &info) != 0 && info.dli_fbase != NULL)
    return ((const ElfW(Ehdr) *) info.dli_fbase)->e_machine;
  return EM_NONE;
}

/*
 * The dynamic loader maps a plugin's segments with mmap(), and a page of a
 * mapping that lies past the end of the file raises SIGBUS when touched: a
 * truncated .so (an interrupted install, a full disk) would kill the
 * process inside dlopen(), or later in lazily touched code.  So before
 * dlopen() the file is checked to be a shared object for this machine
 * whose program headers, every loadable segment and its section header
 * table lie within the file.  The file is read, never mapped, so that this
 * check cannot fault itself.
 */
gboolean
_post_plugin_validate_elf (const char  *filename,
                           GError     **error)
{
  int fd;
  struct stat st;
  ElfW(Ehdr) header;
  g_autofree ElfW(Phdr) *phdrs = NULL;
  guint64 file_size;
  guint16 machine;
  gboolean has_load = FALSE;
  const char *problem = NULL;

  fd = g_open (filename, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN, "plugin %s cannot be opened: %s",
                   filename, g_strerror (saved_errno));
      return FALSE;
    }

  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      problem = "it is not a regular file";
      goto out;
    }
  file_size = (guint64) st.st_size;

  if (file_size < sizeof header || !read_at (fd, &header, sizeof header, 0))
    {
      problem = "it is shorter than an ELF header (truncated?)";
      goto out;
    }

  if (memcmp (header.e_ident, ELFMAG, SELFMAG) != 0)
    {
      problem = "it is not an ELF file";
      goto out;
    }

#if __SIZEOF_POINTER__ == 8
  if (header.e_ident[EI_CLASS] != ELFCLASS64)
#else
  if (header.e_ident[EI_CLASS] != ELFCLASS32)
#endif
    {
      problem = "it is an ELF file of another word size";
      goto out;
    }

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  if (header.e_ident[EI_DATA] != ELFDATA2LSB)
#else
  if (header.e_ident[EI_DATA] != ELFDATA2MSB)
#endif
    {
      problem = "it is an ELF file of another byte order";
      goto out;
    }

  if (header.e_ident[EI_VERSION] != EV_CURRENT || header.e_type != ET_DYN)
    {
      problem = "it is not an ELF shared object";
      goto out;
    }

  machine = native_machine ();
  if (machine != EM_NONE && header.e_machine != machine)
    {
      problem = "it is built for another machine";
      goto out;
    }

  if (header.e_phentsize != sizeof (ElfW(Phdr)) || header.e_phnum == 0 ||
      !range_in_file (header.e_phoff, (guint64) header.e_phnum * sizeof (ElfW(Phdr)), file_size))
    {
      problem = "its program headers lie outside the file (truncated?)";
      goto out;
    }

  phdrs = g_new (ElfW(Phdr), header.e_phnum);
  if (!read_at (fd, phdrs, (gsize) header.e_phnum * sizeof (ElfW(Phdr)), header.e_phoff))
    {
      problem = "its program headers cannot be read";
      goto out;
    }

  for (guint i = 0; i < header.e_phnum; i++)
    {
      if (phdrs[i].p_type != PT_LOAD && phdrs[i].p_type != PT_DYNAMIC)
        continue;
      has_load |= phdrs[i].p_type == PT_LOAD;
      if (!range_in_file (phdrs[i].p_offset, phdrs[i].p_filesz, file_size))
        {
          problem = "a segment extends past the end of the file (truncated?)";
          goto out;
        }
    }

  if (!has_load)
    {
      problem = "it has no loadable segment";
      goto out;
    }

  /* The section headers come last in the file: a cut there leaves the
   * segments whole, but the file is still not what was installed */
  if (header.e_shnum != 0 &&
      (header.e_shentsize != sizeof (ElfW(Shdr)) ||
       !range_in_file (header.e_shoff, (guint64) header.e_shnum * sizeof (ElfW(Shdr)), file_size)))
    {
      problem = "its section headers lie outside the file (truncated?)";
      goto out;
    }

out:
  close (fd);
  if (problem != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s cannot be loaded: %s", filename, problem);
      return FALSE;
    }

  return TRUE;
}

const PostPluginDescriptor *
_post_plugin_open (const char  *filename,
                   GModule    **module_out,
                   GError     **error)
{
  GModule *module;
  gpointer symbol = NULL;
  const PostPluginDescriptor *descriptor;

  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (module_out != NULL, NULL);

  *module_out = NULL;

  if (!_post_plugin_validate_elf (filename, error))
    return NULL;

  module = g_module_open (filename, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s cannot be opened: %s", filename, g_module_error ());
      return NULL;
    }

  if (!g_module_symbol (module, DESCRIPTOR_SYMBOL, &symbol) || symbol == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s is not a libpost plugin: it has no ‘%s’ symbol",
                   filename, DESCRIPTOR_SYMBOL);
      g_module_close (module);
      return NULL;
    }

  /* Nothing in the plugin is called before its ABI version is checked */
  descriptor = symbol;
  if (descriptor->abi_version != POST_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s was built for plugin ABI version %u, but this libpost "
                   "has version %u", filename, descriptor->abi_version,
                   (guint) POST_PLUGIN_ABI_VERSION);
      g_module_close (module);
      return NULL;
    }

  if (descriptor->name == NULL || *descriptor->name == '\0' || descriptor->init == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s has an incomplete descriptor (no name or no init function)",
                   filename);
      g_module_close (module);
      return NULL;
    }

  *module_out = module;
  return descriptor;
}

/* post-cat-http.h: post-cat --framer http|websocket (post-cat-http.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

gboolean post_cat_framer_configure (const char        *framer,
                                    const char        *uri,
                                    PostConfiguration *configuration,
                                    GError           **error);
int      post_cat_framer_run       (GMainLoop         *loop,
                                    const char        *framer,
                                    const char        *uri,
                                    PostConfiguration *configuration,
                                    gboolean           verbose,
                                    int                wait);

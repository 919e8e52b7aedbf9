/* qtest endpoint: stub until the protocol lands. */
#include "dm/qtest.h"

#include "base/error.h"

DmQtest *dm_qtest_start(DmMachine *m, const char *spec, const char *log_path,
                        GError **errp)
{
    ls_error_set(errp, "-qtest is not implemented yet");
    return NULL;
}

void dm_qtest_free(DmQtest *q)
{
}

void dm_qtest_process_line(DmQtest *q, const char *line, GString *reply)
{
    g_string_append(reply, "FAIL\n");
}

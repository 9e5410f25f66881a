"""A real session whose one conflict's proposal has two conflict blocks, for the draft tests.

The vendor changed two lines of ``demo_init()`` (a GFP flag, a longer timeout) that upstream's
hunk changes too, six lines apart, so the hunk-local merge leaves two blocks: a person picks a
side in each, and can quit between the two picks. Built at test time from these strings.
"""

from __future__ import annotations

from pathlib import Path

from patchsmith.workspace.session import SessionStore
from tests.support.sessions import apply_text

HUNK = "drivers/md/dm-demo.c#1"

VANILLA = """\
#include <linux/module.h>

static int demo_init(struct demo *d)
{
\tint r;

\tr = demo_create(d->store);
\tif (r)
\t\treturn r;
\td->ready = 1;
\td->count = 0;
\td->flags = 0;
\td->owner = current;
\td->timeout = HZ;
\treturn 0;
}
"""

VENDOR = VANILLA.replace("demo_create(d->store);", "demo_create(d->store, GFP_NOIO);").replace(
    "d->timeout = HZ;", "d->timeout = 5 * HZ; /* vendor: slow disks */"
)

PATCH = """\
diff --git a/drivers/md/dm-demo.c b/drivers/md/dm-demo.c
--- a/drivers/md/dm-demo.c
+++ b/drivers/md/dm-demo.c
@@ -4,13 +4,13 @@ static int demo_init(struct demo *d)
 {
 \tint r;
\x20
-\tr = demo_create(d->store);
+\tr = demo_create(d->store, 0);
 \tif (r)
 \t\treturn r;
 \td->ready = 1;
 \td->count = 0;
 \td->flags = 0;
 \td->owner = current;
-\td->timeout = HZ;
+\td->timeout = msecs_to_jiffies(1000);
 \treturn 0;
 }
"""


def two_block_session(tmp_path: Path) -> SessionStore:
    """Apply the patch to the vendor tree (a plain folder); the session's store."""
    vendor = tmp_path / "vendor"
    (vendor / "drivers" / "md").mkdir(parents=True)
    (vendor / "drivers" / "md" / "dm-demo.c").write_text(VENDOR)
    return apply_text(tmp_path, vendor, PATCH, worktree=tmp_path / "worktree", use_memory=False)

#include "hv/core/script_run.h"

#include <string.h>

#include "hv/arch/x86/console.h"
#include "hv/core/checkpoint.h"
#include "hv/core/disk_ops.h"
#include "hv/core/display_capture.h"
#include "hv/core/migrate.h"
#include "hv/core/partition_create.h"
#include "hv/core/config/script.h"
#include "hv/core/snapshot.h"
#include "hv/arch/x86/spinlock.h"

static struct script script;
static const char *manifest_file;
static spinlock_t lock = SPINLOCK_INIT;
static uint32_t triggered[MANIFEST_MAX_RULES];      /* each rule runs once: never more */
static unsigned triggered_count, carried_out;

int script_run_init(const struct manifest *m, const char *file, char *err, size_t err_size)
{
    manifest_file = file;
    return script_init(&script, m, file, err, err_size);
}

void script_run_line(struct partition *p, const char *text, size_t len)
{
    if (!len || script.next >= script.count)
        return;
    uint64_t f = spin_lock_irqsave(&lock);
    triggered_count += script_feed(&script, p->name, text, len, triggered + triggered_count,
                                   MANIFEST_MAX_RULES - triggered_count);
    spin_unlock_irqrestore(&lock, f);
}

bool script_run_watches(const struct partition *p)
{
    return script_watches(&script, p->name);        /* a hint: the lock is not needed */
}

static void carry_out(uint32_t rule)
{
    const struct manifest_rule *r = &script.rules[rule];
    const char *name = script.targets[rule];
    char msg[320];
    if (script.actions[rule] == SCRIPT_RESTORE) {
        kprintf("atoll: script %s:%u: restore %s%s%s%s\n", manifest_file, r->line,
                script.files[rule], name[0] ? " as " : "", name,
                script.lazy[rule] ? " lazy" : "");
        if (script.lazy[rule])          /* each prints its line */
            snapshot_restore_lazy(script.files[rule], name, msg, sizeof(msg));
        else
            snapshot_restore(script.files[rule], name, msg, sizeof(msg));
        return;
    }
    if (script.actions[rule] == SCRIPT_DISK) {
        struct disk_op_request req;
        kprintf("atoll: script %s:%u: disk %s\n", manifest_file, r->line, script.files[rule]);
        if (disk_op_parse(script.files[rule], &req, msg, sizeof(msg)) == 0)
            disk_ops_request(&req, NULL, msg, sizeof(msg));    /* prints its line */
        return;
    }
    if (script.actions[rule] == SCRIPT_CAPTURE) {
        kprintf("atoll: script %s:%u: capture %s\n", manifest_file, r->line, script.files[rule]);
        display_capture(script.files[rule], msg, sizeof(msg));     /* prints its line */
        return;
    }
    struct partition *p = partition_find(name);
    if (script.actions[rule] == SCRIPT_SNAPSHOT || script.actions[rule] == SCRIPT_MIGRATE)
        kprintf("atoll: script %s:%u: %s %s %s%s%s\n", manifest_file, r->line, r->action, name,
                script.files[rule], script.live[rule] ? " live" : "",
                script.stop[rule] ? " stop" : "");
    else
        kprintf("atoll: script %s:%u: %s %s\n", manifest_file, r->line, r->action, name);
    if (!p) {           /* not created: the manifest was refused before partitions existed */
        kprintf("atoll: script %s:%u: there is no partition %s\n", manifest_file, r->line, name);
        return;
    }
    switch (script.actions[rule]) {
    case SCRIPT_START:
        if (p->state == PART_CREATED)
            partition_start(p);
        else
            kprintf("atoll: script %s:%u: cannot start %s: it has %s\n", manifest_file,
                    r->line, name, p->state == PART_RUNNING ? "already started" : "ended");
        break;
    case SCRIPT_STOP:
        if (p->state == PART_RUNNING)
            partition_stop(p, "by the script (%s:%u)", manifest_file, r->line);
        else
            kprintf("atoll: script %s:%u: cannot stop %s: it is not running\n", manifest_file,
                    r->line, name);
        break;
    case SCRIPT_CHECKPOINT:
        checkpoint_partition(p, msg, sizeof(msg));     /* prints what happened */
        break;
    case SCRIPT_SNAPSHOT: {
        uint32_t id;            /* the job prints its line when it ends */
        snapshot_partition(p, script.files[rule], script.stop[rule], script.live[rule], &id,
                           msg, sizeof(msg));
        break;
    }
    case SCRIPT_MIGRATE:
        migrate_start(p, script.files[rule], msg, sizeof(msg));    /* prints what happens */
        break;
    case SCRIPT_RESTORE:
    case SCRIPT_DISK:
    case SCRIPT_CAPTURE:
        break;
    }
}

bool script_run_waiting(void)
{
    return carried_out < __atomic_load_n(&triggered_count, __ATOMIC_ACQUIRE);
}

void script_run_poll(void)
{
    /* An action waits for the snapshot before it: a restore must find the file complete. */
    while (!snapshot_busy() && carried_out < __atomic_load_n(&triggered_count, __ATOMIC_ACQUIRE)) {
        uint64_t f = spin_lock_irqsave(&lock);
        uint32_t rule = triggered[carried_out++];
        spin_unlock_irqrestore(&lock, f);
        carry_out(rule);
    }
}

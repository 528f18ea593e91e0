// Independent reader #2: ical.js (Mozilla's parser), from npm (see package.json).
//
// Usage: node read_icaljs.mjs FROM_UTC TO_UTC FILE...
// Prints the same lines as read_python.py.
import fs from 'node:fs';
import ICAL from 'ical.js';

const [from, to] = [new Date(process.argv[2]), new Date(process.argv[3])];
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const out = [];
for (const path of process.argv.slice(4)) {
  const root = new ICAL.Component(ICAL.parse(fs.readFileSync(path, 'utf8')));
  for (const vtz of root.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  }
  // ICAL.Event(component) alone relates every RECURRENCE-ID event of the VCALENDAR to
  // every master, whatever its UID; pass each master its own exceptions, strictly.
  const byUid = new Map();
  for (const vevent of root.getAllSubcomponents('vevent')) {
    const uid = vevent.getFirstPropertyValue('uid');
    if (!byUid.has(uid)) byUid.set(uid, { master: null, exceptions: [] });
    const entry = byUid.get(uid);
    if (vevent.hasProperty('recurrence-id')) entry.exceptions.push(vevent);
    else if (entry.master) throw new Error(`${path}: two masters for ${uid}`);
    else entry.master = vevent;
  }
  const masters = new Map();
  for (const [uid, { master, exceptions }] of byUid) {
    if (!master) throw new Error(`${path}: override without a master: ${uid}`);
    masters.set(uid, new ICAL.Event(master, { strictExceptions: true, exceptions }));
  }
  const emit = (uid, start, end, component) => {
    const s = start.toJSDate();
    if (s < from || s >= to) return;
    // A cancelled event (STATUS:CANCELLED) is what a client reads as cancelled.
    const cancelled = String(component.getFirstPropertyValue('status') || '').toUpperCase() === 'CANCELLED';
    const status = cancelled ? 'cancelled' : component.getFirstPropertyValue('x-convene-status') || 'scheduled';
    out.push([path, uid, iso(s), iso(end.toJSDate()), status].join('\t'));
  };
  for (const [uid, event] of masters) {
    if (!event.isRecurring()) {
      emit(uid, event.startDate, event.endDate, event.component);
      continue;
    }
    const it = event.iterator();
    for (let next = it.next(); next; next = it.next()) {
      if (next.toJSDate() >= new Date(to.getTime() + 400 * 86400000)) break;
      const details = event.getOccurrenceDetails(next);
      emit(uid, details.startDate, details.endDate, details.item.component);
    }
  }
  ICAL.TimezoneService.reset();
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));

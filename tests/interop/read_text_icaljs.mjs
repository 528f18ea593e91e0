// Independent reader #2 for the injection tests: ical.js (Mozilla's parser), from npm.
//
// Usage: node read_text_icaljs.mjs FROM_UTC TO_UTC FILE...
// Prints the same JSON as read_text_python.py.
import fs from 'node:fs';
import ICAL from 'ical.js';

const [from, to] = [new Date(process.argv[2]), new Date(process.argv[3])];
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const out = {};
for (const path of process.argv.slice(4)) {
  const root = new ICAL.Component(ICAL.parse(fs.readFileSync(path, 'utf8')));
  for (const vtz of root.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(new ICAL.Timezone(vtz));
  }
  const vevents = root.getAllSubcomponents('vevent');
  const uids = vevents.map((v) => String(v.getFirstPropertyValue('uid')));
  const byUid = new Map();
  for (const vevent of vevents) {
    const uid = vevent.getFirstPropertyValue('uid');
    if (!byUid.has(uid)) byUid.set(uid, { master: null, exceptions: [] });
    const entry = byUid.get(uid);
    if (vevent.hasProperty('recurrence-id')) entry.exceptions.push(vevent);
    else if (entry.master) throw new Error(`${path}: two masters for ${uid}`);
    else entry.master = vevent;
  }
  const occurrences = [];
  const text = (c, name) => {
    const v = c.getFirstPropertyValue(name);
    return v === null || v === undefined ? '' : String(v);
  };
  const emit = (uid, start, component) => {
    const s = start.toJSDate();
    if (s < from || s >= to) return;
    const organizer = component.getFirstProperty('organizer');
    occurrences.push({
      uid: String(uid),
      start: iso(s),
      summary: text(component, 'summary'),
      description: text(component, 'description'),
      location: text(component, 'location'),
      url: text(component, 'url'),
      organizer: organizer ? String(organizer.getFirstValue()) : '',
      cn: organizer ? String(organizer.getParameter('cn') || '') : '',
      categories: component.getAllProperties('categories').flatMap((p) => p.getValues().map(String)),
    });
  };
  for (const [uid, { master, exceptions }] of byUid) {
    if (!master) throw new Error(`${path}: override without a master: ${uid}`);
    const event = new ICAL.Event(master, { strictExceptions: true, exceptions });
    if (!event.isRecurring()) {
      emit(uid, event.startDate, event.component);
      continue;
    }
    const it = event.iterator();
    for (let next = it.next(); next; next = it.next()) {
      if (next.toJSDate() >= new Date(to.getTime() + 400 * 86400000)) break;
      const details = event.getOccurrenceDetails(next);
      emit(uid, details.startDate, details.item.component);
    }
  }
  occurrences.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.uid < b.uid ? -1 : 1));
  out[path] = { uids, occurrences };
  ICAL.TimezoneService.reset();
}
process.stdout.write(JSON.stringify(out));

// The people I see in messaging (names, presence), asked of the directory once each, in batches.
import { api } from '../../lib/api';
import { msgs } from './model';
import type { Member, Person } from './types';

const asked = new Set<string>();
let peopleTimer: ReturnType<typeof setTimeout> | undefined;
const wanted = new Set<string>();

// Merges people in; a presence older than the one known (an answer that left the server before
// a presence.updated event arrived) does not replace it.
export function addPeople(list: Person[]): void {
  if (!list.length) return;
  const people = { ...msgs.get().people };
  for (const p of list) {
    const old = people[p.id];
    if (p.former && old && !old.partial) continue;
    const merged: Person = { ...old, ...p };
    if (old?.presence && p.presence && old.presence.updated_at > p.presence.updated_at) merged.presence = old.presence;
    if (!p.partial) delete merged.partial;
    people[p.id] = merged;
  }
  msgs.set({ people });
}

// Names the people of these ids (the directory, in batches of 100), once each.
export function ensurePeople(ids: Iterable<string>): void {
  const known = msgs.get().people;
  for (const id of ids) if (id && (!known[id] || known[id].partial) && !asked.has(id)) wanted.add(id);
  if (!wanted.size || peopleTimer) return;
  peopleTimer = setTimeout(() => {
    peopleTimer = undefined;
    const all = [...wanted];
    wanted.clear();
    for (let i = 0; i < all.length; i += 100) {
      const batch = all.slice(i, i + 100);
      batch.forEach((id) => asked.add(id));
      api<{ people: Person[] }>('GET', `/api/v1/directory?ids=${batch.join(',')}`).then(
        (r) => {
          // Who the directory does not list any more (a disabled account) is named as such.
          const found = new Set(r.people.map((p) => p.id));
          const gone = batch.filter((id) => !found.has(id)).map((id) => ({ id, username: '', display_name: '', former: true }));
          addPeople([...r.people, ...gone]);
        },
        () => batch.forEach((id) => asked.delete(id)),
      );
    }
  }, 20);
}

export function membersToPeople(members: Member[]): Person[] {
  return members.map((m) => ({ id: m.user_id, username: m.username, display_name: m.display_name, presence: m.presence }));
}

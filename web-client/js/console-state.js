// What the organiser has chosen in the console: contest, stage, nomination, stage part and
// room, each narrowing the next, and the people known so far. Sections listen for changes.

export class ConsoleState extends EventTarget {
  constructor() {
    super();
    this.contest = '';
    this.stage = '';
    this.nomination = '';
    this.part = '';
    this.room = '';
    this.people = [];
  }

  /** Sets one choice, such as `stage`, and announces it as a `stage` event. */
  choose(level, id) {
    if (this[level] === id) {
      return;
    }
    this[level] = id;
    this.dispatchEvent(new Event(level));
  }

  /** Replaces the list of people and announces it as a `people` event. */
  setPeople(people) {
    this.people = people;
    this.dispatchEvent(new Event('people'));
  }

  /** Returns the full name of a person, or their id when unknown. */
  personName(id) {
    return this.people.find((person) => person.id === id)?.full_name ?? id;
  }
}

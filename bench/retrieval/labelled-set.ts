/**
 * The labelled set of the retrieval scenario: memories (and document passages) with the questions
 * that should find them. Every target has two questions:
 * - `lexical`: says it with some of the target's own words (what full-text search is good at);
 * - `paraphrase`: says it with other words only. The scenario checks with Postgres itself that a
 *   paraphrase shares no full-text lexeme with its target (it would otherwise not count).
 *
 * Written by hand for this project. The paraphrases use synonyms that the scripted embedder's small
 * lexicon knows (src/scripted-llm/concept-lexicon.ts), so the figures measure the retrieval pipeline
 * (embedding, vector search, fusion) with a deterministic embedder, not the quality of a real model.
 */

export interface LabelledTarget {
  key: string;
  text: string;
  lexical: string;
  paraphrase: string;
}

export const MEMORY_TARGETS: readonly LabelledTarget[] = [
  { key: 'car', text: 'The user drives a red car to the office every morning.', lexical: 'What car does the user drive?', paraphrase: 'Which automobile do I commute with?' },
  { key: 'refund', text: 'Customers can get a refund within 30 days of purchase.', lexical: 'How many days do customers have for a refund?', paraphrase: 'How long may buyers wait to be reimbursed after they shop?' },
  { key: 'wifi', text: 'The office wifi password is taped to the fridge.', lexical: 'Where is the wifi password?', paraphrase: 'Where can I find the wireless passphrase at the workplace?' },
  { key: 'standup', text: 'The team standup meeting starts at 9:30.', lexical: 'When does the standup meeting start?', paraphrase: 'At what hour does the scrum huddle begin?' },
  { key: 'manager', text: "Maria is the user's manager.", lexical: 'Who is my manager?', paraphrase: 'Who is my boss?' },
  { key: 'budget', text: 'The marketing budget for Q3 is 40,000 euros.', lexical: 'What is the marketing budget?', paraphrase: 'How much can advertising spend this quarter?' },
  { key: 'laptop', text: 'The user works on a 14-inch ThinkPad laptop running Linux.', lexical: 'Which laptop does the user have?', paraphrase: 'What notebook do I own?' },
  { key: 'coffee', text: 'The user prefers coffee without sugar.', lexical: 'How does the user take coffee?', paraphrase: 'Do I like my espresso sweetened?' },
  { key: 'dog', text: 'The user has a dog named Biscuit.', lexical: 'What is the name of my dog?', paraphrase: 'How is my puppy called?' },
  { key: 'invoice', text: 'Invoices must be approved by the finance department.', lexical: 'Who approves invoices?', paraphrase: 'Which team signs off bills, accounting?' },
  { key: 'doctor', text: "The user's doctor appointment is on Friday afternoon.", lexical: 'When is the doctor appointment?', paraphrase: 'When do I see the physician for my checkup?' },
  { key: 'children', text: 'The user has two children, Leo and Ana.', lexical: 'How many children does the user have?', paraphrase: 'How many kids have I got?' },
  { key: 'rotation', text: 'Passwords must be rotated every 90 days.', lexical: 'How often must passwords be rotated?', paraphrase: 'How frequently should credentials be renewed?' },
  { key: 'salary', text: 'Salaries are paid on the 25th of each month.', lexical: 'When are salaries paid?', paraphrase: 'Which date does payroll go out?' },
  { key: 'running', text: 'The user goes running three times a week.', lexical: 'How often does the user go running?', paraphrase: 'How regularly do I jog?' },
  { key: 'spanish', text: 'The user is learning Spanish.', lexical: 'Which language is the user learning?', paraphrase: 'What tongue am I studying?' },
  { key: 'flight', text: "The user's flight to Berlin departs at 7 am.", lexical: 'When does the flight to Berlin depart?', paraphrase: 'At what time does my plane take off?' },
  { key: 'flat', text: 'The user lives in a small flat in Porto.', lexical: 'Where does the user live?', paraphrase: 'In what kind of apartment do I reside?' },
  { key: 'support', text: 'The support inbox is help@example.com.', lexical: 'What is the support inbox?', paraphrase: 'Which mailbox do I write to for assistance?' },
  { key: 'films', text: 'The user loves science fiction films.', lexical: 'Which films does the user love?', paraphrase: 'What genre of movies do I enjoy?' },
  { key: 'vegetarian', text: 'The user is vegetarian and does not eat meat.', lexical: 'Does the user eat meat?', paraphrase: 'Do I consume beef or pork?' },
  { key: 'peanuts', text: 'The user is allergic to peanuts.', lexical: 'What is the user allergic to?', paraphrase: 'Which nuts am I intolerant to?' },
  { key: 'holiday', text: 'The user is on holiday in Japan from May 3 to May 17.', lexical: 'When is the user on holiday?', paraphrase: 'When is my vacation?' },
  { key: 'deploy', text: 'Deployments to production happen every Tuesday.', lexical: 'When do deployments to production happen?', paraphrase: 'Which weekday do we ship releases live?' },
  { key: 'conference', text: 'Large meetings are held in the Orion conference room.', lexical: 'Where are large meetings held?', paraphrase: 'Where do big gatherings take place?' },
  { key: 'remote', text: 'The user works remotely on Mondays and Fridays.', lexical: 'On which days does the user work remotely?', paraphrase: 'When do I telecommute?' },
  { key: 'bike', text: 'The user cycles to the station on a blue bicycle.', lexical: 'What colour is the user bicycle?', paraphrase: 'What shade is my bike?' },
  { key: 'backup', text: 'Database backups run every night at 2 am.', lexical: 'When do database backups run?', paraphrase: 'At what time are datastore snapshots taken?' },
  { key: 'tea', text: 'The user drinks green tea in the afternoon.', lexical: 'What tea does the user drink?', paraphrase: 'Which chai infusion do I have after lunch?' },
  { key: 'parking', text: 'Parking at headquarters costs 5 euros per day.', lexical: 'How much does parking cost?', paraphrase: 'What is the fee to leave my automobile at HQ?' },
];

/** Document passages (each its own chunk) and their questions. */
export const CHUNK_TARGETS: readonly LabelledTarget[] = [
  {
    key: 'expenses',
    text: 'Expense claims: employees who pay for work travel themselves are reimbursed within 14 days after they submit receipts in the expenses app.',
    lexical: 'How are expense claims for work travel reimbursed?',
    paraphrase: 'How soon does staff get a refund for a journey?',
  },
  {
    key: 'badges',
    text: 'Security badges: a lost badge must be reported the same day; the replacement fee is 25 euros.',
    lexical: 'What is the fee for a lost badge?',
    paraphrase: 'What does it cost if my pass goes missing? Safety rules.',
  },
  {
    key: 'leave',
    text: 'Parental leave: new parents get 16 weeks of paid time off, which can be split in two blocks.',
    lexical: 'How long is parental leave?',
    paraphrase: 'How generous is maternity or paternity here?',
  },
  {
    key: 'laptops',
    text: 'Equipment: every new hire receives a laptop and a phone on the first day; both are returned when they leave.',
    lexical: 'When does a new hire receive a laptop?',
    paraphrase: 'When do recruits get their notebook and smartphone?',
  },
  {
    key: 'remote-policy',
    text: 'Remote work policy: staff may work from home up to three days a week after agreeing with their manager.',
    lexical: 'How many days can staff work from home?',
    paraphrase: 'How frequently can employees telecommute, and whose approval is needed?',
  },
];

/** Words for distractor memories: everyday topics, partly overlapping the targets' vocabulary. */
export const DISTRACTOR_WORDS = {
  subjects: ['The user', 'The team', 'Our client', 'The new intern', 'The sales group', 'My neighbour', 'The landlord', 'The design team', 'The CFO', 'Our partner agency'],
  verbs: ['mentioned', 'reviewed', 'postponed', 'scheduled', 'discussed', 'rejected', 'approved', 'prepared', 'forgot', 'updated', 'shared', 'cleaned'],
  adjectives: ['quarterly', 'annual', 'urgent', 'draft', 'final', 'shared', 'internal', 'yellow', 'tiny', 'noisy', 'old', 'green'],
  nouns: ['report', 'roadmap', 'garden', 'contract', 'spreadsheet', 'recipe', 'playlist', 'newsletter', 'kitchen', 'printer', 'website', 'presentation', 'warehouse', 'poster', 'survey'],
  places: ['in the lobby', 'at the warehouse', 'on the terrace', 'near the station', 'in the basement', 'at the bakery', 'on the rooftop', 'in the library', 'at the harbour', 'in the studio'],
  days: ['on Monday', 'on Wednesday', 'on Thursday', 'on Saturday', 'on Sunday', 'last week', 'yesterday', 'in March', 'in October', 'this spring'],
};

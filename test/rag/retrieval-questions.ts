/**
 * Retrieval evaluation set over ../shared/corpora/eval.txt (public domain: the 2019 and 2020 State of the Union
 * addresses and the last chapters of Moby-Dick). Each question is asked in words of its own (a reader's question, not
 * a copied sentence) and names its source by `answer`: a verbatim span of the corpus (within one line of the file).
 * A retrieved chunk counts as a hit when it covers that span. Written by hand for issue 14; 36 questions.
 */
export interface EvalQuestion {
  q: string;
  /** Verbatim span of eval.txt that answers it. */
  answer: string;
}

export const QUESTIONS: EvalQuestion[] = [
  // State of the Union 2019
  { q: 'How many D-Day veterans were honored in the chamber and what were their names?', answer: 'Private First Class Joseph Reilly, Staff Sergeant Irving Locker, and Sergeant Herman Zeitchik' },
  { q: 'Which Apollo 11 astronaut attended the address?', answer: 'Buzz Aldrin' },
  { q: 'How many manufacturing jobs were added?', answer: 'added 600,000 new manufacturing jobs' },
  { q: 'When did the country last export more energy than it imports?', answer: 'for the first time in 65 years, we are a net exporter of energy' },
  { q: 'How many jobs were reported in the last month before the speech?', answer: 'we added another 304,000 jobs last month alone' },
  { q: 'Whose prison sentence did the President commute in June?', answer: "In June, I commuted Alice's sentence" },
  { q: 'Who was the first person released under the criminal justice reform law?', answer: 'Matthew is the very first person to be released from prison under the First Step Act' },
  { q: 'How many criminal aliens did ICE officers arrest in two years?', answer: '266,000 arrests of criminal aliens' },
  { q: 'What tariffs were put on goods from China?', answer: 'we recently imposed tariffs on $250 billion of Chinese goods' },
  { q: 'By how much did prescription drug prices fall in 2018?', answer: 'in 2018 drug prices experienced their single largest decline in 46 years' },
  { q: 'How much money is requested for childhood cancer research?', answer: 'My budget will ask the Congress for $500 million over the next 10 years' },
  { q: 'How much more are NATO allies spending on defense?', answer: '$100 billion increase in defense spending from NATO allies' },
  { q: 'Whom did the United States recognize as interim president of Venezuela?', answer: 'its new interim President, Juan Guaido' },
  { q: 'Which synagogue was attacked in Pittsburgh?', answer: 'Tree of Life Synagogue in Pittsburgh' },
  { q: 'Which city on the Texas border used to have very high violent crime?', answer: 'The border city of El Paso, Texas, used to have extremely high rates of violent crime' },
  { q: 'How many Americans have died in Afghanistan and Iraq?', answer: 'In Afghanistan and Iraq, nearly 7,000 American heroes have given their lives' },
  // State of the Union 2020
  { q: 'How many new jobs were created since the election, according to the 2020 speech?', answer: 'we have created 7 million new jobs' },
  { q: 'How much did the net worth of the bottom half of earners grow?', answer: 'increased by 47 percent' },
  { q: 'How many neglected neighborhoods receive investment from Opportunity Zones?', answer: '9,000 previously-neglected neighborhoods thanks to Opportunity Zones' },
  { q: 'What trade agreement replaced NAFTA?', answer: 'signed the brand new United States-Mexico-Canada Agreement (USMCA) into law' },
  { q: "Which governor vetoed the expansion of school choice?", answer: 'Pennsylvania’s Governor vetoed legislation to expand school choice for 50,000 children' },
  { q: "What is the name of the First Lady's initiative for children?", answer: 'the “Be Best” initiative' },
  { q: 'What did the President say about the virus outbreak in China?', answer: 'working closely together on the Coronavirus outbreak in China' },
  { q: 'Who received the Presidential Medal of Freedom during the speech?', answer: 'the Presidential Medal of Freedom' },
  { q: 'How early was Ellie Schneider born?', answer: 'Born at just 21 weeks and 6 days' },
  { q: 'Which tree planting effort will the country join?', answer: 'One Trillion Trees Initiative' },
  { q: 'Which two Supreme Court justices were appointed?', answer: 'Neil Gorsuch, and Brett Kavanaugh' },
  { q: 'What was the special forces mission named after Kayla\'s birthday?', answer: 'Task Force 8-14' },
  { q: 'Who was the Iranian commander described as a ruthless butcher?', answer: 'Soleimani was the Iranian Regime’s most ruthless butcher' },
  { q: 'Which leave law for working families should Congress pass?', answer: 'Advancing Support for Working Families Act' },
  // Moby-Dick
  { q: 'What did Ahab see when he looked into the binnacle at the compasses?', answer: 'compasses pointed East, and the Pequod was as infallibly going West' },
  { q: 'What was used to replace the lost life-buoy?', answer: 'concerning his coffin' },
  { q: 'What did the captain of the Rachel beg Ahab for?', answer: 'For eight-and-forty hours let' },
  { q: 'Who claimed the gold doubloon for sighting the White Whale first?', answer: 'the doubloon is mine, Fate' },
  { q: 'What instrument did Ahab smash on the deck the day before?', answer: 'sight-tubes of the quadrant he had the day before dashed to the deck' },
  { q: 'How did the boats approach the whale over the smooth sea?', answer: 'Like noiseless nautilus shells, their light prows sped through the sea' },
];

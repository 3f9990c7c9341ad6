\set id0 random(1, 10000)
\set id1 random(1, 10000)
\set id2 random(1, 10000)
\set id3 random(1, 10000)
\set id4 random(1, 10000)
\set id5 random(1, 10000)
\set id6 random(1, 10000)
\set id7 random(1, 10000)
\set id8 random(1, 10000)
\set id9 random(1, 10000)
\set id10 random(1, 10000)
\set id11 random(1, 10000)
\set id12 random(1, 10000)
\set id13 random(1, 10000)
\set id14 random(1, 10000)
\set id15 random(1, 10000)
\set id16 random(1, 10000)
\set id17 random(1, 10000)
\set id18 random(1, 10000)
\set id19 random(1, 10000)
SELECT id, randomnumber FROM world WHERE id = :id0;
SELECT id, randomnumber FROM world WHERE id = :id1;
SELECT id, randomnumber FROM world WHERE id = :id2;
SELECT id, randomnumber FROM world WHERE id = :id3;
SELECT id, randomnumber FROM world WHERE id = :id4;
SELECT id, randomnumber FROM world WHERE id = :id5;
SELECT id, randomnumber FROM world WHERE id = :id6;
SELECT id, randomnumber FROM world WHERE id = :id7;
SELECT id, randomnumber FROM world WHERE id = :id8;
SELECT id, randomnumber FROM world WHERE id = :id9;
SELECT id, randomnumber FROM world WHERE id = :id10;
SELECT id, randomnumber FROM world WHERE id = :id11;
SELECT id, randomnumber FROM world WHERE id = :id12;
SELECT id, randomnumber FROM world WHERE id = :id13;
SELECT id, randomnumber FROM world WHERE id = :id14;
SELECT id, randomnumber FROM world WHERE id = :id15;
SELECT id, randomnumber FROM world WHERE id = :id16;
SELECT id, randomnumber FROM world WHERE id = :id17;
SELECT id, randomnumber FROM world WHERE id = :id18;
SELECT id, randomnumber FROM world WHERE id = :id19;

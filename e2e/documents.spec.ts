import { test, expect } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { url, shot, collectErrors, pickAndLoad } from './helpers.ts';
import { makePdf } from '../test/rag/make-pdf.ts';

test('Documents panel: add files, see chunks, ask with clickable citations, documents survive a reload', async ({ page }, info) => {
  const errors = collectErrors(page);
  await page.goto(url('/'));
  await pickAndLoad(page, 'sotu-5m-q4_0.gguf');
  const paras = readFileSync('../shared/corpora/eval.txt', 'utf8').split(/\n\s*\n/);
  await page.locator('#docs-clear').click();
  await page.locator('#docs-files').setInputFiles([
    { name: 'sotu-2020.txt', mimeType: 'text/plain', buffer: Buffer.from(paras[1]) },
    { name: 'notes.md', mimeType: 'text/markdown', buffer: Buffer.from('# Navy budget\n\nThe **Navy** budget grew by *ten* ships.\n\n- [link](http://x) to the memo') },
    { name: 'harbor.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makePdf([['The harbor master counted the boats.'], ['On the second page the lighthouse keeper wrote a report.']])) },
  ]);
  await expect(page.locator('#docs-count')).toContainText('3 documents');
  await expect(page.locator('#docs-status')).toContainText('Added 3 documents');
  await page.locator('#docs-list details').last().locator('summary').click();
  await expect(page.locator('#docs-list ol.chunks li').first()).not.toBeEmpty();
  // The PDF (read by pdf.js in the page) is chunked with its page numbers: two short pages fit one chunk.
  const pdf = page.locator('#docs-list details', { hasText: 'harbor.pdf' });
  await pdf.locator('summary').click();
  await expect(pdf.locator('ol.chunks li')).toHaveCount(1);
  await expect(pdf.locator('ol.chunks li').first()).toContainText('(pp. 1-2) The harbor master counted the boats.');
  await expect(pdf.locator('ol.chunks li').first()).toContainText('lighthouse keeper');
  await shot(page, info, 'documents');

  await page.locator('#docs-question').fill('What did the President say about the Navy budget?');
  await page.locator('#docs-ask').click();
  await expect(page.locator('body')).toHaveAttribute('data-docs', 'done', { timeout: 60_000 });
  await expect(page.locator('#docs-answer')).not.toBeEmpty();
  await expect(page.locator('#docs-sources li').first()).toBeVisible();
  await expect(page.locator('#docs-timing')).toContainText('retrieval');
  await page.locator('#docs-sources button.cite').first().click();
  await expect(page.locator('#docs-passage mark')).not.toBeEmpty();
  await shot(page, info, 'answer-and-passage');

  await page.reload();
  await expect(page.locator('#docs-count')).toContainText('3 documents');
  expect(errors).toEqual([]);
});

//! Inter-annotator agreement beyond chance: Cohen's kappa (two raters) and Fleiss' kappa
//! (a fixed number of raters per item). Labels are indices into the label set.

/// Cohen's kappa of two raters who labeled the same items (`a[i]` and `b[i]` are item `i`).
/// `None` when the inputs differ in length, are empty, use an index `>= n_labels`, or chance
/// agreement is 1 (both raters always used one and the same label: kappa is undefined).
pub fn cohen_kappa(a: &[usize], b: &[usize], n_labels: usize) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() || a.iter().chain(b).any(|&l| l >= n_labels) {
        return None;
    }
    let n = a.len() as f64;
    let observed = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n;
    let mut count_a = vec![0usize; n_labels];
    let mut count_b = vec![0usize; n_labels];
    for (&x, &y) in a.iter().zip(b) {
        count_a[x] += 1;
        count_b[y] += 1;
    }
    let chance: f64 = count_a
        .iter()
        .zip(&count_b)
        .map(|(&x, &y)| (x as f64 / n) * (y as f64 / n))
        .sum();
    if (1.0 - chance).abs() < 1e-12 {
        return None;
    }
    Some((observed - chance) / (1.0 - chance))
}

/// Fleiss' kappa from a count matrix: `counts[i][j]` raters put item `i` in category `j`. Every
/// row must have the same total `n >= 2`. `None` when rows are ragged, empty, or chance
/// agreement is 1.
pub fn fleiss_kappa(counts: &[Vec<usize>]) -> Option<f64> {
    let first = counts.first()?;
    let k = first.len();
    let raters: usize = first.iter().sum();
    if k == 0 || raters < 2 {
        return None;
    }
    if counts
        .iter()
        .any(|row| row.len() != k || row.iter().sum::<usize>() != raters)
    {
        return None;
    }
    let n_items = counts.len() as f64;
    let r = raters as f64;
    // Per-item agreement P_i = (sum_j n_ij^2 - n) / (n (n - 1)).
    let p_bar = counts
        .iter()
        .map(|row| {
            let sq: f64 = row.iter().map(|&c| (c as f64) * (c as f64)).sum();
            (sq - r) / (r * (r - 1.0))
        })
        .sum::<f64>()
        / n_items;
    // Chance agreement from the overall category shares p_j.
    let p_e: f64 = (0..k)
        .map(|j| {
            let p_j = counts.iter().map(|row| row[j] as f64).sum::<f64>() / (n_items * r);
            p_j * p_j
        })
        .sum();
    if (1.0 - p_e).abs() < 1e-12 {
        return None;
    }
    Some((p_bar - p_e) / (1.0 - p_e))
}

/// Turns per-item label lists into Fleiss counts, keeping only items with exactly `raters`
/// labels (Fleiss needs a constant number of raters per item).
pub fn fleiss_counts(items: &[Vec<usize>], raters: usize, n_labels: usize) -> Vec<Vec<usize>> {
    items
        .iter()
        .filter(|labels| labels.len() == raters && labels.iter().all(|&l| l < n_labels))
        .map(|labels| {
            let mut row = vec![0usize; n_labels];
            for &l in labels {
                row[l] += 1;
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohen_wikipedia_example_is_0_4() {
        // Wikipedia "Cohen's kappa": 50 proposals; both yes 20, both no 15,
        // A yes/B no 5, A no/B yes 10. p_o = 0.7, p_e = 0.5, kappa = 0.4.
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (x, y, n) in [(0, 0, 20), (1, 1, 15), (0, 1, 5), (1, 0, 10)] {
            for _ in 0..n {
                a.push(x);
                b.push(y);
            }
        }
        let k = cohen_kappa(&a, &b, 2).unwrap();
        assert!((k - 0.4).abs() < 1e-12, "{k}");
    }

    #[test]
    fn cohen_edge_cases() {
        assert_eq!(cohen_kappa(&[0, 1], &[0], 2), None);
        assert_eq!(cohen_kappa(&[0, 0], &[0, 0], 2), None);
        assert_eq!(cohen_kappa(&[0, 2], &[0, 1], 2), None);
        assert!((cohen_kappa(&[0, 1, 0, 1], &[0, 1, 0, 1], 2).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fleiss_wikipedia_example_is_0_210() {
        // Wikipedia "Fleiss' kappa" worked example: 10 items, 14 raters, 5 categories.
        let counts = vec![
            vec![0, 0, 0, 0, 14],
            vec![0, 2, 6, 4, 2],
            vec![0, 0, 3, 5, 6],
            vec![0, 3, 9, 2, 0],
            vec![2, 2, 8, 1, 1],
            vec![7, 7, 0, 0, 0],
            vec![3, 2, 6, 3, 0],
            vec![2, 5, 3, 2, 2],
            vec![6, 5, 2, 1, 0],
            vec![0, 2, 2, 3, 7],
        ];
        let k = fleiss_kappa(&counts).unwrap();
        assert!((k - 0.210).abs() < 5e-4, "{k}");
    }

    #[test]
    fn fleiss_rejects_ragged_rows_and_matches_perfect_agreement() {
        assert_eq!(fleiss_kappa(&[vec![1, 1], vec![3, 0]]), None);
        let perfect = vec![vec![3, 0], vec![0, 3], vec![3, 0]];
        assert!((fleiss_kappa(&perfect).unwrap() - 1.0).abs() < 1e-12);
        let counts = fleiss_counts(&[vec![0, 0, 1], vec![1, 1], vec![1, 1, 1]], 3, 2);
        assert_eq!(counts, vec![vec![2, 1], vec![0, 3]]);
    }
}
